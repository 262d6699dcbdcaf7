/**
 * The whole local broker in-process (local/broker.ts: token, deploy and
 * status apps behind the shared route table) over real HTTP, with the local
 * githosted server and OIDC issuer, and the local policy.
 */
import { join } from 'node:path'
import { createLogger } from '../../functions/lib/observability/logger.js'
import { createLocalBroker, type LocalBroker } from '../../local/broker.js'
import { startLocalOidcIssuer, type LocalOidcIssuer } from '../../local/oidc/index.js'
import { startTestGithosted, type TestGithosted } from './githosted.js'
import { ROOT } from './local-product.js'
import { serveApp, type ServedApp } from './serve-app.js'
import { startTestState } from './state-table.js'

export interface LocalBrokerWorld {
  gh: TestGithosted
  oidc: LocalOidcIssuer
  broker: LocalBroker
  served: ServedApp
  close(): Promise<void>
}

export async function startLocalBrokerWorld(): Promise<LocalBrokerWorld> {
  const gh = await startTestGithosted()
  const oidc = await startLocalOidcIssuer()
  const state = await startTestState()
  const broker = await createLocalBroker({
    state: state.state(),
    githostedUrl: gh.url,
    workspaceToken: gh.bootstrapToken,
    oidc,
    policyFile: join(ROOT, 'local', 'policy.yaml'),
    logger: createLogger({ level: 'error' }),
  })
  const served = await serveApp(broker.fetch)
  return {
    gh,
    oidc,
    broker,
    served,
    close: async () => {
      await served.close()
      await oidc.close()
      await state.close()
      await gh.close()
    },
  }
}
