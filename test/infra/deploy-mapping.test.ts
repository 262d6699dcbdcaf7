import { afterEach, describe, expect, it } from 'vitest'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { readMappedRepositories } from '../../infra/deploy-mapping.js'

let dir: string | undefined
const file = (content: string): string => {
  dir ??= mkdtempSync(join(tmpdir(), 'broker-mapping-'))
  const path = join(dir, 'deploy-mapping.json')
  writeFileSync(path, content)
  return path
}
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true })
  dir = undefined
})

describe('readMappedRepositories', () => {
  it('returns undefined when there is no mapping file', () => {
    expect(readMappedRepositories(join(tmpdir(), 'no-such-dir', 'deploy-mapping.json'))).toBeUndefined()
  })

  it('collects, dedupes and sorts the ECR repository names', () => {
    const path = file(
      JSON.stringify({
        mappings: [
          { ecrRepository: 'web', repo: 'deploy-configs', environment: 'staging' },
          { ecrRepository: 'team/api', repo: 'deploy-configs', environment: 'staging' },
          { ecrRepository: 'web', repo: 'deploy-configs', environment: 'production' },
        ],
      }),
    )
    expect(readMappedRepositories(path)).toEqual(['team/api', 'web'])
  })

  it('fails synth on a broken file instead of filtering every push out', () => {
    expect(() => readMappedRepositories(file('{ not json'))).toThrow(/not valid JSON/)
    expect(() => readMappedRepositories(file('{"mappings":[{"repo":"x"}]}'))).toThrow(/entry 0 has no "ecrRepository"/)
    expect(() => readMappedRepositories(file('{"mappings":[{"ecrRepository":"Bad Name"}]}'))).toThrow(
      /not valid ECR repository names: Bad Name/,
    )
  })
})
