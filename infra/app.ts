/**
 * CDK entry (`cdk.json` runs it with tsx): builds the app from context and
 * synthesizes it. `npm run synth` needs neither AWS credentials nor Docker.
 */
import { ContextError } from './config.js'
import { createApp } from './main.js'

try {
  createApp().app.synth()
} catch (err) {
  // Bad context is the operator's to fix: the message says what and how, a stack trace adds noise.
  if (!(err instanceof ContextError)) throw err
  console.error(err.message)
  process.exit(1)
}
