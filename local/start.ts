/**
 * `npm start`: the product on this machine. Starts the local githosted server
 * (seeded, data kept in .local-data/), the local OIDC issuer and the broker on
 * 127.0.0.1, then prints the URLs, a broker key and commands to paste.
 *
 *   npm start -- [--port 8080] [--githosted-port 8787] [--data .local-data] [--compat] [--json]
 */
import { serve } from '@hono/node-server'
import type { AddressInfo } from 'node:net'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { createLocalBroker, LOCAL_AUDIENCE, LOCAL_KEY_NAME } from './broker.js'
import { PROFILE_NAMES, isProfileName } from './githosted/index.js'
import { openGithosted } from './githosted-source.js'
import { startLocalOidcIssuer } from './oidc/index.js'

const USAGE = `usage: npm start -- [--port N] [--githosted-port N] [--data DIR] [--compat] [--json]
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
  const profile = args.profile ?? (args.compat ? 'hosted-today' : 'documented')
  if (!isProfileName(profile)) fail(`--profile must be one of ${PROFILE_NAMES.join(', ')}, got "${profile}"`)

  const githosted = await openGithosted({
    githostedUrl: args['githosted-url'],
    workspaceTokenFile: args['workspace-token-file'],
    dataDir,
    port: githostedPort,
    profile,
  }).catch((err: unknown) => fail(err instanceof Error ? err.message : String(err)))
  const oidc = await startLocalOidcIssuer({ audience: LOCAL_AUDIENCE })
  const broker = await createLocalBroker({
    githostedUrl: githosted.url,
    workspaceToken: githosted.workspaceToken,
    oidc,
    policyFile: resolve(import.meta.dirname, 'policy.yaml'),
  })

  const server = serve({ fetch: broker.fetch, hostname: '127.0.0.1', port })
  await new Promise<void>((ok, ko) => {
    server.once('listening', ok)
    server.once('error', ko)
  })
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`

  const shutdown = async () => {
    server.close()
    await Promise.allSettled([oidc.close(), githosted.close()])
    process.exit(0)
  }
  process.once('SIGINT', shutdown)
  process.once('SIGTERM', shutdown)

  if (args.json) {
    process.stdout.write(
      JSON.stringify({
        broker: url,
        githosted: githosted.url,
        dashboard: `${broker.dashboardUrl(url)}`,
        brokerKey: broker.brokerKey,
        oidcIssuer: oidc.issuer,
        dataDir,
        compat: githosted.kind === 'hosted-today',
        profile: githosted.kind,
      }) + '\n',
    )
    return
  }

  const key = broker.brokerKey
  process.stdout.write(`
githosted-ci-broker is running locally${githosted.kind === 'documented' ? '' : ` (githosted: ${githosted.kind})`}

  broker      ${url}
  githosted   ${githosted.url}   (${githosted.where})
  dashboard   ${broker.dashboardUrl(url)}

Broker key "${LOCAL_KEY_NAME}" (new on every start; the policy is local/policy.yaml):
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

Ctrl-C stops everything; the repos stay in ${dataDir} (delete it to start over).
`)
}

main().catch((err) => {
  process.stderr.write(`npm start: ${err instanceof Error ? err.message : String(err)}\n`)
  process.exit(1)
})
