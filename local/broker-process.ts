/**
 * One broker process of `npm start -- --instances N` (see instances.ts):
 * the local broker on its own port, with the shared table and credentials
 * its parent passes. Prints one `{"brokerReady":…}` line when it listens,
 * and exits when its parent goes away (stdin closes).
 */
import { serve } from '@hono/node-server'
import type { AddressInfo } from 'node:net'
import { createSharedState } from '../functions/lib/state/index.js'
import { createLocalBroker } from './broker.js'
import { remoteMint, type BrokerProcessConfig } from './instances.js'
import { LOCAL_STATE_ENV, LOCAL_TIMEOUT_MS } from './state.js'

const config = JSON.parse(process.env.LOCAL_BROKER_CONFIG ?? '') as BrokerProcessConfig
const state = createSharedState(
  { tableName: config.state.tableName, region: config.state.region, endpoint: config.state.endpoint, timeoutMs: LOCAL_TIMEOUT_MS },
  { env: LOCAL_STATE_ENV },
)
const broker = await createLocalBroker({
  githostedUrl: config.githostedUrl,
  workspaceToken: config.workspaceToken,
  brokerKey: config.brokerKey,
  oidc: { policyIssuerUrls: config.policyIssuerUrls, mint: remoteMint(config.mintUrl) },
  policyFile: config.policyFile,
  state,
})
const server = serve({ fetch: broker.fetch, hostname: '127.0.0.1', port: 0 })
await new Promise<void>((ok, ko) => {
  server.once('listening', ok)
  server.once('error', ko)
})
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
process.stdout.write(`${JSON.stringify({ brokerReady: true, url, dashboard: broker.dashboardUrl(url) })}\n`)

const stop = () => {
  server.close()
  state.close()
  process.exit(0)
}
process.stdin.on('end', stop)
process.stdin.on('close', stop)
process.stdin.resume()
process.once('SIGTERM', stop)
process.once('SIGINT', stop)
