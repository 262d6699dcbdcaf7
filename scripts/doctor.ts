/**
 * `npm run doctor -- --githosted-url URL --token-file FILE [--repo SLUG] [--json]`
 *
 * Probes a githosted server for what the broker depends on (scripts/doctor/probe.ts)
 * and prints a table: each capability, what was observed, what the broker
 * will do about it. Exits 0 when the broker can work safely, 1 when not,
 * 2 on bad usage. The token is read from a file so it never appears in the
 * process list or shell history, and it is never printed.
 */
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { sharedNodeTransport } from '../functions/lib/githosted/node-transport.js'
import { formatReport, runDoctor } from './doctor/probe.js'

const USAGE = `usage: npm run doctor -- --githosted-url URL --token-file FILE [--repo SLUG] [--json]
  --githosted-url  the githosted base URL (http:// or https://)
  --token-file     a file holding a write workspace token (gw_)
  --repo           probe this repo with a guarded no-op write instead of a scratch repo
  --json           print the report as JSON`

function fail(message: string): never {
  process.stderr.write(`doctor: ${message}\n\n${USAGE}\n`)
  process.exit(2)
}

async function main(): Promise<void> {
  let values
  try {
    values = parseArgs({
      options: {
        'githosted-url': { type: 'string' },
        'token-file': { type: 'string' },
        repo: { type: 'string' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
      allowPositionals: false,
    }).values
  } catch (err) {
    fail(err instanceof Error ? err.message : String(err))
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`)
    return
  }
  const url = values['githosted-url']
  if (!url) fail('--githosted-url is required')
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    fail(`--githosted-url is not a URL: ${JSON.stringify(url.slice(0, 100))}`)
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') fail('--githosted-url must be http:// or https://')
  const file = values['token-file']
  if (!file) fail('--token-file is required')
  let token: string
  try {
    token = readFileSync(file, 'utf8').trim()
  } catch (err) {
    fail(`cannot read --token-file: ${(err as NodeJS.ErrnoException).code ?? 'error'}`)
  }
  if (token === '' || /\s/.test(token)) fail('--token-file must hold one token and nothing else')

  const report = await runDoctor({ url, token, ...(values.repo ? { repo: values.repo } : {}) })
  process.stdout.write(values.json ? `${JSON.stringify(report)}\n` : `${formatReport(report)}\n`)
  sharedNodeTransport().close()
  process.exitCode = report.safe ? 0 : 1
}

main().catch((err: unknown) => {
  process.stderr.write(`doctor: ${err instanceof Error ? err.message : String(err)}\n`)
  process.exit(1)
})
