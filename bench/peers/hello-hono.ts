/**
 * The floor for cold start: a hello-world Hono app on the same Lambda adapter
 * as our functions, built by the same bundler. It answers any request, so it
 * can serve the same event fixture as the function it is compared with.
 */
import { Hono } from 'hono'
import { handle } from 'hono/aws-lambda'

const app = new Hono()
app.all('*', (c) => c.json({ hello: 'world' }))

export const handler = handle(app)
