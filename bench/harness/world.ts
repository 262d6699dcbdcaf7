/**
 * Everything a benchmarked Lambda talks to, on 127.0.0.1, in the bench
 * process (the Lambdas themselves run in child processes): the local
 * githosted server (optionally with injected latency or in hosted-compat
 * mode), a fake Secrets Manager holding the function secrets, and an OIDC
 * issuer. `env` is the Lambda environment that points a function at them.
 */
import { generateBrokerKey, hashBrokerKey } from '../../functions/lib/auth/broker-keys.js'
import { startLocalGithosted, type LocalGithosted } from '../../local/githosted/index.js'
import { LOCAL_TABLE, ensureStateTable, startDynalite } from '../../local/state.js'
import { secretArn, startFakeSecrets, type FakeSecrets } from './fake-secrets.js'
import { startBenchIssuer, type BenchIssuer } from './oidc-issuer.js'
import { installServerTiming } from './server-timing.js'

export const AUDIENCE = 'githosted-ci-broker'
export const BROKER_KEY_NAME = 'ci-legacy'

export interface WorldOptions {
  compat?: boolean
  latencyMs?: number
  alg?: 'RS256' | 'ES256'
}

export interface World {
  githosted: LocalGithosted
  secrets: FakeSecrets
  issuer: BenchIssuer
  /** A broker key whose hash is in the broker-keys secret. Never log it. */
  brokerKey: string
  /** Lambda environment for every function (each reads what it needs). */
  env: Record<string, string>
  close(): Promise<void>
}

export async function startWorld(options: WorldOptions = {}): Promise<World> {
  installServerTiming()
  const githosted = await startLocalGithosted({
    seed: true,
    compat: options.compat ?? false,
    faults: { latencyMs: options.latencyMs ?? 0 },
  })
  const workspaceToken = githosted.bootstrapToken
  if (!workspaceToken) throw new Error('local githosted returned no bootstrap token')
  const dashboardToken = await githosted.createToken({
    name: 'bench-dashboard',
    kind: 'repo',
    permission: 'read',
    repoAllowlist: ['deploy-configs'],
  })
  const brokerKey = generateBrokerKey()
  const secrets = await startFakeSecrets({
    [secretArn('workspace-token')]: workspaceToken,
    [secretArn('dashboard-token')]: dashboardToken,
    [secretArn('broker-keys')]: JSON.stringify({ keys: [{ name: BROKER_KEY_NAME, sha256: hashBrokerKey(brokerKey) }] }),
  })
  // Claims of a push to main of acme/app: the shipped policy's `app-staging` rule matches them.
  const issuer = await startBenchIssuer({
    audience: AUDIENCE,
    claims: { repository: 'acme/app', repository_owner: 'acme', repository_owner_id: '65', ref: 'refs/heads/main' },
    ...(options.alg ? { alg: options.alg } : {}),
  })
  // The state table on dynalite in this process: its answers carry Server-Timing like every bench server.
  const dynamo = await startDynalite()
  await ensureStateTable(dynamo.endpoint)
  const env: Record<string, string> = {
    ...secrets.env(),
    STATE_TABLE_NAME: LOCAL_TABLE,
    STATE_TABLE_ENDPOINT: dynamo.endpoint,
    // Benchmarks send thousands of requests as one identity; the product default is 30 a minute.
    TOKEN_RATE_LIMIT_PER_MINUTE: '1000000',
    DEPLOY_RATE_LIMIT_PER_MINUTE: '1000000',
    STATUS_RATE_LIMIT_PER_MINUTE: '1000000',
    SOURCE_IP_RATE_LIMIT_PER_MINUTE: '1000000',
    GITHOSTED_URL: githosted.url,
    OIDC_AUDIENCE: AUDIENCE,
    SECRET_CACHE_TTL_SECONDS: '300',
    WORKSPACE_TOKEN_SECRET_ARN: secretArn('workspace-token'),
    BROKER_KEYS_SECRET_ARN: secretArn('broker-keys'),
    DASHBOARD_TOKEN_SECRET_ARN: secretArn('dashboard-token'),
    STATUS_REPO: 'deploy-configs',
    // Read only by the bench entries (local-oidc variant): the policy's github issuer, pointed here.
    BENCH_OIDC_ISSUER_URLS: JSON.stringify({ github: issuer.url }),
  }
  return {
    githosted,
    secrets,
    issuer,
    brokerKey,
    env,
    async close() {
      await Promise.allSettled([githosted.close(), secrets.close(), issuer.close(), dynamo.close()])
    },
  }
}
