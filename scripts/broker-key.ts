/**
 * Creates a broker API key for seed-compatible CI callers.
 *
 *   npm run broker-key -- --name ci-legacy
 *
 * Prints the key once (put it in the CI system's secret store) and the entry
 * to add to the broker-keys secret, which holds only names and SHA-256
 * digests: {"keys":[{"name":"ci-legacy","sha256":"<hex>"}]}.
 */
import { resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { generateBrokerKey, hashBrokerKey, isValidKeyName } from '../functions/lib/auth/broker-keys.js'

const USAGE = 'usage: npm run broker-key -- --name <key-name>   (e.g. --name ci-legacy)'

export interface CliIo {
  out(line: string): void
  err(line: string): void
}

/** Runs the command; returns the exit code. */
export function runBrokerKeyCli(argv: string[], io: CliIo): number {
  let name: string | undefined
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string
    if (arg === '--help' || arg === '-h') {
      io.out(USAGE)
      return 0
    }
    if (arg === '--name') {
      name = argv[++i]
      if (name === undefined || name.startsWith('--')) {
        io.err(`error: --name needs a value\n${USAGE}`)
        return 2
      }
    } else if (arg.startsWith('--name=')) {
      name = arg.slice('--name='.length)
    } else {
      io.err(`error: unknown argument ${JSON.stringify(arg)}\n${USAGE}`)
      return 2
    }
  }
  if (name === undefined) {
    io.err(`error: --name is required\n${USAGE}`)
    return 2
  }
  if (!isValidKeyName(name)) {
    io.err(
      `error: invalid name ${JSON.stringify(name)}: use 1-63 characters of a-z 0-9 . _ -, ` +
        'starting with a letter or digit (policy rules refer to it as match.brokerKey)',
    )
    return 2
  }
  const key = generateBrokerKey()
  const entry = JSON.stringify({ name, sha256: hashBrokerKey(key) })
  io.out(`Broker key "${name}" (shown only once; store it in your CI's secret store, e.g. as BROKER_KEY):`)
  io.out('')
  io.out(`  ${key}`)
  io.out('')
  io.out('Add this entry to the "keys" array of the broker-keys secret (it holds only digests):')
  io.out('')
  io.out(`  ${entry}`)
  io.out('')
  io.out(`and allow it in the policy with a rule matching { brokerKey: ${name} }.`)
  return 0
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = runBrokerKeyCli(process.argv.slice(2), {
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
  })
}
