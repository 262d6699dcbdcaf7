import { parseArgs } from 'node:util'
import { PROFILE_NAMES, isProfileName, startLocalGithosted } from './index.js'

const USAGE = `Usage: npm run githosted-local -- [options]

Runs a githosted-compatible Connect server (HTTP/1.1 and h2c on one port).

Options:
  --data DIR     data directory (repos + state); default: a temp dir removed on exit
  --port N       port to listen on (0 = random; default 8787, as npm start uses)
  --host H       interface to bind (default 127.0.0.1)
  --seed         create workspace + deploy-configs repo in a fresh data dir
  --profile NAME which githosted variant to behave as (default documented):
                   documented     headSha on reads, expectedHead enforced, full Log messages
                   hosted-today   no headSha, expectedHead ignored, Log subjects only
                   strict-schema  hosted-today + unknown JSON fields rejected (invalid_argument)
                   minimal        strict-schema + DeleteFile/ListBranches unimplemented + HTTP/2 only
  --compat       alias of --profile hosted-today
  -h, --help     show this help

Prints the URL and a fresh write (gw_) bootstrap token once on start.`

function fail(message: string): never {
  process.stderr.write(`githosted-local: ${message}\n\n${USAGE}\n`)
  process.exit(2)
}

function parse() {
  try {
    return parseArgs({
      strict: true,
      allowPositionals: false,
      options: {
        data: { type: 'string' },
        port: { type: 'string' },
        host: { type: 'string' },
        seed: { type: 'boolean' },
        compat: { type: 'boolean' },
        profile: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }).values
  } catch (err) {
    return fail(err instanceof Error ? err.message : String(err))
  }
}

async function main(): Promise<void> {
  const args = parse()
  if (args.help) {
    process.stdout.write(`${USAGE}\n`)
    return
  }
  const portText = args.port ?? '8787'
  if (!/^\d{1,5}$/.test(portText) || Number(portText) > 65535) {
    fail(`--port must be an integer from 0 to 65535, got ${JSON.stringify(portText)}`)
  }
  if (args.data === '') fail('--data must not be empty')
  const profile = args.profile ?? (args.compat ? 'hosted-today' : 'documented')
  if (!isProfileName(profile)) fail(`--profile must be one of ${PROFILE_NAMES.join(', ')}, got ${JSON.stringify(profile)}`)
  if (args.compat && profile !== 'hosted-today') fail('--compat is --profile hosted-today; do not combine it with another profile')
  const server = await startLocalGithosted({
    ...(args.data ? { dataDir: args.data } : {}),
    port: Number(portText),
    ...(args.host ? { host: args.host } : {}),
    seed: args.seed ?? false,
    profile,
  })
  // The one place a token is printed: a human needs it to call the server.
  process.stdout.write(`githosted-local listening on ${server.url} (profile ${server.profile})\n`)
  process.stdout.write(`data dir: ${server.dataDir}\n`)
  if (server.bootstrapToken) process.stdout.write(`bootstrap token (write, gw_): ${server.bootstrapToken}\n`)
  else process.stdout.write('no bootstrap token (existing data dir; pass --seed to mint one)\n')

  let stopping = false
  const stop = (): void => {
    if (stopping) return
    stopping = true
    server.close().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`githosted-local: close failed: ${String(err)}\n`)
        process.exit(1)
      },
    )
  }
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)
}

main().catch((err: unknown) => {
  process.stderr.write(`githosted-local: ${err instanceof Error ? err.message : String(err)}\n`)
  process.exit(1)
})
