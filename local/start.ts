/**
 * `npm start`: the product on this machine. Starts the local githosted server
 * (seeded, data kept in .local-data/), the local OIDC issuer and the broker on
 * 127.0.0.1, then prints the URLs, a broker key and commands to paste.
 *
 *   npm start -- [--port 8080] [--githosted-port 8787] [--data .local-data] [--compat] [--json]
 *                [--instances N] [--dynamodb-endpoint URL [--table NAME]] [--policy FILE] [--verbose]
 *
 * The state table (replay, revocation, rate limits, idempotency, event
 * order, write leases) is on dynalite, data in <data>/dynamodb, reached
 * through the same client as on AWS; `--instances N` runs N broker
 * processes over it, as N Lambda containers would. Logs go to <data>/logs/
 * (local/logs.ts), the data directory is locked against a second instance
 * (local/data-lock.ts), and any stop request or the parent's exit closes
 * everything (local/shutdown.ts).
 */
import { serve } from '@hono/node-server'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { generateBrokerKey } from '../functions/lib/auth/broker-keys.js'
import { createSharedState } from '../functions/lib/state/index.js'
import { createLocalBroker, LOCAL_AUDIENCE, LOCAL_KEY_NAME } from './broker.js'
import { spawnBrokerProcesses, startMintEndpoint, stopChild } from './instances.js'
import { LOCAL_REGION, LOCAL_STATE_ENV, LOCAL_TABLE, LOCAL_TIMEOUT_MS, ensureStateTable, startDynalite } from './state.js'
import { DataDirLockedError, lockDataDir } from './data-lock.js'
import { explainListenError } from './listen-errors.js'
import { openLocalLogs } from './logs.js'
import { installShutdown } from './shutdown.js'
import { PROFILE_NAMES, isProfileName } from './githosted/index.js'
import { openGithosted } from './githosted-source.js'
import { startLocalOidcIssuer } from './oidc/index.js'

const USAGE = `usage: npm start -- [--port N] [--githosted-port N] [--data DIR] [--compat] [--json]
                    [--instances N] [--dynamodb-endpoint URL [--table NAME]]
  --port            broker port on 127.0.0.1 (default 8080; 0 = any free port)
  --githosted-port  local githosted port (default 8787; 0 = any free port)
  --data            where the local githosted keeps its repos and tokens (default .local-data)
  --profile NAME    which githosted variant the local server behaves as: documented (default),
                    hosted-today, strict-schema or minimal (docs/githosted-compatibility.md)
  --compat          alias of --profile hosted-today
  --githosted-url URL --workspace-token-file FILE
                    run against that githosted (no local one is started; check it first
                    with npm run doctor); FILE holds a write workspace (gw_) token
  --json            print one JSON line with the URLs and credentials instead of the text
  --instances       run N broker processes (each on its own free port) sharing one githosted,
                    one DynamoDB and one set of credentials, like N Lambda containers (default 1)
  --dynamodb-endpoint  use this DynamoDB-compatible endpoint for the state table instead of
                    starting dynalite (the table is created if missing)
  --table           the state table's name (default ${LOCAL_TABLE})
  --policy FILE     the broker policy to use (default local/policy.yaml)
  --verbose         stream request and audit logs to stderr (always kept in <data>/logs/)
`

function fail(message: string): never {
  process.stderr.write(`npm start: ${message}\n\n${USAGE}`)
  process.exit(2)
}

function portOf(name: string, value: string): number {
  if (!/^\d+$/.test(value) || Number(value) > 65535) fail(`--${name} must be a port number, got "${value}"`)
  return Number(value)
}

async function main() {
  let parsed
  try {
    parsed = parseArgs({
      options: {
        port: { type: 'string', default: process.env.PORT ?? '8080' },
        'githosted-port': { type: 'string', default: '8787' },
        data: { type: 'string', default: '.local-data' },
        compat: { type: 'boolean', default: false },
        profile: { type: 'string' },
        'githosted-url': { type: 'string' },
        'workspace-token-file': { type: 'string' },
        json: { type: 'boolean', default: false },
        instances: { type: 'string', default: '1' },
        'dynamodb-endpoint': { type: 'string' },
        table: { type: 'string', default: LOCAL_TABLE },
        policy: { type: 'string' },
        verbose: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
      allowPositionals: false,
    })
  } catch (err) {
    fail(err instanceof Error ? err.message : String(err))
  }
  const args = parsed.values
  if (args.help) {
    process.stdout.write(USAGE)
    return
  }
  const port = portOf('port', args.port!)
  const githostedPort = portOf('githosted-port', args['githosted-port']!)
  const dataDir = resolve(args.data!)
  if (!/^[1-9]\d?$/.test(args.instances!) || Number(args.instances) > 16) fail(`--instances must be a whole number from 1 to 16, got "${args.instances}"`)
  const instances = Number(args.instances)
  const endpointArg = args['dynamodb-endpoint']
  if (endpointArg !== undefined && !/^https?:\/\/[^/]+/.test(endpointArg)) fail(`--dynamodb-endpoint must be an http(s) URL, got "${endpointArg}"`)
  const tableName = args.table!
  if (!/^[A-Za-z0-9_.-]{3,255}$/.test(tableName)) fail(`--table must be a DynamoDB table name (3-255 of A-Z a-z 0-9 _ . -), got "${tableName}"`)
  const policyFile = args.policy ? resolve(args.policy) : resolve(import.meta.dirname, 'policy.yaml')
  const lock = lockDataDir(dataDir)
  const logs = openLocalLogs(dataDir, { verbose: args.verbose! })
  // Until everything is up, a failure must still free what started.
  const closers: Array<() => Promise<unknown> | void> = [() => logs.close(), () => lock.release()]
  const closeAll = async () => {
    for (const close of closers.reverse()) await Promise.resolve(close()).catch(() => undefined)
  }
  installShutdown(closeAll)
  process.once('exit', () => lock.release())
  listenPorts = { '--port': port, '--githosted-port': githostedPort }
  const profile = args.profile ?? (args.compat ? 'hosted-today' : 'documented')
  if (!isProfileName(profile)) fail(`--profile must be one of ${PROFILE_NAMES.join(', ')}, got "${profile}"`)

  const githosted = await openGithosted({
    githostedUrl: args['githosted-url'],
    workspaceTokenFile: args['workspace-token-file'],
    dataDir,
    port: githostedPort,
    profile,
  }).catch((err: unknown) => {
    // A port in use is explained by main's handler; anything else is a usage problem.
    if ((err as { code?: string }).code === 'EADDRINUSE') throw err
    return fail(err instanceof Error ? err.message : String(err))
  })
  closers.push(() => githosted.close())
  const dynamo = endpointArg ? undefined : await startDynalite({ path: join(dataDir, 'dynamodb') })
  const stateEndpoint = endpointArg ?? dynamo!.endpoint
  await ensureStateTable(stateEndpoint, tableName)
  const oidc = await startLocalOidcIssuer({ audience: LOCAL_AUDIENCE })
  closers.push(() => oidc.close(), () => dynamo?.close())
  const brokerKey = generateBrokerKey()
  const childOutput = { write: (chunk: string | Uint8Array) => (logs.writeRaw(String(chunk)), true) } as NodeJS.WritableStream

  let urls: string[]
  let pids: number[]
  let dashboardUrl: string
  if (instances === 1) {
    const state = createSharedState({ tableName, region: LOCAL_REGION, endpoint: stateEndpoint, timeoutMs: LOCAL_TIMEOUT_MS }, { env: LOCAL_STATE_ENV })
    closers.push(() => state.close())
    const broker = await createLocalBroker({
      githostedUrl: githosted.url,
      workspaceToken: githosted.workspaceToken,
      oidc,
      policyFile,
      state,
      brokerKey,
      logger: logs.logger,
    })
    const server = serve({ fetch: broker.fetch, hostname: '127.0.0.1', port })
    await new Promise<void>((ok, ko) => {
      server.once('listening', ok)
      server.once('error', ko)
    })
    closers.push(
      () =>
        new Promise<void>((done) => {
          server.close(() => done())
          ;(server as Server).closeAllConnections()
        }),
    )
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    urls = [url]
    pids = [process.pid]
    dashboardUrl = broker.dashboardUrl(url)
  } else {
    const mint = await startMintEndpoint(oidc)
    closers.push(() => mint.close())
    const procs = await spawnBrokerProcesses(
      instances,
      {
        githostedUrl: githosted.url,
        workspaceToken: githosted.workspaceToken,
        brokerKey,
        policyFile,
        policyIssuerUrls: oidc.policyIssuerUrls,
        mintUrl: mint.url,
        state: { endpoint: stateEndpoint, tableName, region: LOCAL_REGION },
      },
      childOutput,
    )
    closers.push(...procs.map((p) => () => stopChild(p.child)))
    urls = procs.map((p) => p.url)
    pids = procs.map((p) => p.pid)
    dashboardUrl = procs[0]!.dashboard
  }
  const url = urls[0]!
  const broker = { brokerKey, dashboardUrl: () => dashboardUrl }

  if (args.json) {
    process.stdout.write(
      JSON.stringify({
        broker: url,
        brokers: urls,
        brokerPids: pids,
        githosted: githosted.url,
        dynamodb: stateEndpoint,
        table: tableName,
        dashboard: `${broker.dashboardUrl()}`,
        brokerKey: broker.brokerKey,
        oidcIssuer: oidc.issuer,
        dataDir,
        logFile: logs.file,
        policyFile,
        pid: process.pid,
        compat: githosted.kind === 'hosted-today',
        profile: githosted.kind,
      }) + '\n',
    )
    return
  }

  const key = broker.brokerKey
  process.stdout.write(`
githosted-ci-broker is running locally${githosted.kind === 'documented' ? '' : ` (githosted: ${githosted.kind})`}

${urls.map((u, i) => `  broker${urls.length > 1 ? ` ${i + 1}   ` : '      '}${u}${urls.length > 1 ? `   (pid ${pids[i]})` : ''}`).join('\n')}
  githosted   ${githosted.url}   (${githosted.where})
  dynamodb    ${stateEndpoint}   (table ${tableName}${dynamo ? `, data in ${join(dataDir, 'dynamodb')}` : ''})
  dashboard   ${broker.dashboardUrl()}

Broker key "${LOCAL_KEY_NAME}" (new on every start; the policy is ${policyFile}):
  export BROKER_KEY=${key}

1. Get a repo-scoped token the way githosted's CI example does:
  TOKEN=$(curl -sf -X POST -H "Authorization: Bearer $BROKER_KEY" \\
    ${url}/ci/token -d '{"repo": "deploy-configs", "ttl": "1h"}')

2. Run the example's CI job with it (read, set image, write with expectedHead):
  JOB_TOKEN=$TOKEN REPO_SLUG=deploy-configs NEW_IMAGE_TAG=ghcr.io/acme/app:1.1.0 \\
    GITHOSTED_URL=${githosted.url} npx tsx scripts/update-deploy-config.ts

3. Or let the broker deploy (key-level merge, idempotent, the Git log is the deploy log):
  curl -s -X POST -H "Authorization: Bearer $BROKER_KEY" -H 'content-type: application/json' \\
    ${url}/v1/deploys -d '{"repo": "deploy-configs", "environment": "staging", "image": "ghcr.io/acme/app:1.2.0"}'

4. The OIDC path, with a GitHub-Actions-shaped ID token from the local issuer
   (gitlab, circleci and buildkite work too):
  ID_TOKEN=$(curl -s '${url}/_local/id-token?provider=github')
  curl -s -X POST -H "Authorization: Bearer $ID_TOKEN" -H 'content-type: application/json' \\
    ${url}/v1/tokens -d '{"repo": "deploy-configs", "permission": "read", "ttl": "15m"}'

5. Status as JSON:
  curl -s -H "Authorization: Bearer $BROKER_KEY" '${url}/v1/status?repo=deploy-configs'

6. Promote what dev runs, pinned by its digest, along the seed's dev → staging → production
   (staging → production once the value has been in staging for a minute: local/policy.yaml):
  curl -s -X POST -H "Authorization: Bearer $BROKER_KEY" -H 'content-type: application/json' \\
    ${url}/v1/promotions -d '{"repo": "deploy-configs", "from": "dev", "to": "staging"}'

Logs: ${logs.file}${args.verbose ? ' (and streamed to stderr)' : ' (--verbose streams them here)'}
Ctrl-C stops everything; the repos stay in ${dataDir} (delete it to start over).
`)
}

let listenPorts: Record<string, number> = {}

main().catch((err) => {
  const advice = explainListenError(err, listenPorts) ?? (err instanceof DataDirLockedError ? err.message : undefined)
  process.stderr.write(`npm start: ${advice ?? (err instanceof Error ? err.message : String(err))}\n`)
  process.exit(1)
})
