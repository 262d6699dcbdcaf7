/**
 * Several broker processes on one machine, the local picture of Lambda
 * containers: the processes `npm start -- --instances N` runs
 * (local/instances.ts), over one local githosted (behind a proxy the test
 * can stop), one dynalite table, one broker key and one OIDC issuer.
 */
import { generateBrokerKey } from '../../functions/lib/auth/broker-keys.js'
import { Client } from '../../functions/lib/githosted/index.js'
import { LOCAL_AUDIENCE } from '../../local/broker.js'
import { spawnBrokerProcesses, startMintEndpoint, stopChild, type BrokerProcess } from '../../local/instances.js'
import { startLocalOidcIssuer, type LocalOidcIssuer } from '../../local/oidc/index.js'
import type { ProfileName } from '../../local/githosted/index.js'
import { LOCAL_REGION } from '../../local/state.js'
import { startTestGithosted, type TestGithosted } from './githosted.js'
import { startTestState, type TestState } from './state-table.js'
import { startTcpProxy, type PausableProxy } from './tcp-proxy.js'

export interface BrokerFleet {
  brokers: BrokerProcess[]
  gh: TestGithosted
  /** githosted as the brokers see it. */
  proxy: PausableProxy
  state: TestState
  oidc: LocalOidcIssuer
  brokerKey: string
  /** A workspace client straight to githosted (not through the proxy), for reading the truth. */
  admin: Client
  close(): Promise<void>
}

const POLICY_FILE = new URL('../../local/policy.yaml', import.meta.url).pathname

export async function startBrokerFleet(options: { count: number; profile: ProfileName; output?: NodeJS.WritableStream }): Promise<BrokerFleet> {
  const gh = await startTestGithosted({ profile: options.profile })
  const proxy = await startTcpProxy(gh.url)
  const state = await startTestState()
  const oidc = await startLocalOidcIssuer({ audience: LOCAL_AUDIENCE })
  const mint = await startMintEndpoint(oidc)
  const brokerKey = generateBrokerKey()
  const sink = options.output ?? { write: () => true }
  const brokers = await spawnBrokerProcesses(
    options.count,
    {
      githostedUrl: proxy.url,
      workspaceToken: gh.bootstrapToken,
      brokerKey,
      policyFile: POLICY_FILE,
      policyIssuerUrls: oidc.policyIssuerUrls,
      mintUrl: mint.url,
      state: { endpoint: state.endpoint, tableName: state.tableName, region: LOCAL_REGION },
    },
    sink as NodeJS.WritableStream,
  )
  return {
    brokers,
    gh,
    proxy,
    state,
    oidc,
    brokerKey,
    admin: new Client({ token: gh.bootstrapToken, baseUrl: gh.url }),
    async close() {
      await Promise.all(brokers.map((b) => stopChild(b.child)))
      await mint.close()
      await oidc.close()
      await proxy.close()
      await state.close()
      await gh.close()
    },
  }
}
