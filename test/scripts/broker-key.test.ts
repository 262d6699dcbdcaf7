import { describe, expect, it } from 'vitest'
import { BROKER_KEY_RE, hashBrokerKey, parseStoredKeys } from '../../functions/lib/auth/broker-keys.js'
import { runBrokerKeyCli } from '../../scripts/broker-key.js'

function run(argv: string[]) {
  const out: string[] = []
  const err: string[] = []
  const code = runBrokerKeyCli(argv, { out: (l) => out.push(l), err: (l) => err.push(l) })
  return { code, out, err }
}

describe('npm run broker-key', () => {
  it('prints a key once and the matching stored entry', () => {
    const { code, out, err } = run(['--name', 'ci-legacy'])
    expect(code).toBe(0)
    expect(err).toEqual([])
    const keys = out.map((l) => l.trim()).filter((l) => l.startsWith('gbk_'))
    expect(keys.length).toBe(1)
    const key = keys[0] as string
    expect(BROKER_KEY_RE.test(key)).toBe(true)
    const entryLine = out.map((l) => l.trim()).find((l) => l.startsWith('{'))
    const entry = JSON.parse(entryLine ?? '{}')
    expect(entry.name).toBe('ci-legacy')
    expect(entry.sha256 === hashBrokerKey(key)).toBe(true)
    expect(out.filter((l) => l.includes(key.slice(4))).length).toBe(1) // shown once
    expect(parseStoredKeys({ keys: [entry] })).toHaveLength(1)
  })

  it('accepts --name=value', () => {
    expect(run(['--name=deployer']).code).toBe(0)
  })

  it.each([
    [[], /--name is required/],
    [['--name'], /--name needs a value/],
    [['--name', '--force'], /--name needs a value/],
    [['--name', 'Has Spaces'], /invalid name "Has Spaces"/],
    [['--nmae', 'x'], /unknown argument "--nmae"/],
  ])('%j fails with a clear error and exit code 2', (argv, message) => {
    const { code, out, err } = run(argv)
    expect(code).toBe(2)
    expect(out).toEqual([])
    expect(err.join('\n')).toMatch(message)
  })
})
