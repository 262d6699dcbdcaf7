import { afterEach, describe, expect, it } from 'vitest'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { contextEcrFilters, readEcrFilters } from '../../infra/deploy-mapping.js'

let dir: string | undefined
const file = (content: unknown): string => {
  dir ??= mkdtempSync(join(tmpdir(), 'broker-mapping-'))
  const path = join(dir, 'deploy-mapping.json')
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content))
  return path
}
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true })
  dir = undefined
})

const entry = (ecrRepository: string, imageFormat?: string) => ({
  ecrRepository,
  repo: 'deploy-configs',
  environments: ['staging'],
  ...(imageFormat ? { imageFormat } : {}),
})

describe('readEcrFilters', () => {
  it('returns undefined when there is no mapping file', () => {
    expect(readEcrFilters(join(tmpdir(), 'no-such-dir', 'deploy-mapping.json'))).toBeUndefined()
  })

  it('dedupes and sorts names and turns globs into EventBridge wildcards', () => {
    const path = file({ ecr: [entry('web'), entry('team/api'), entry('web'), entry('acme/svc-?'), entry('tools/*')] })
    expect(readEcrFilters(path)).toEqual({
      tagged: [{ wildcard: 'acme/svc-*' }, 'team/api', { wildcard: 'tools/*' }, 'web'],
      untagged: [],
    })
  })

  it('sends repositories mapped by digest to the untagged rule only', () => {
    const path = file({
      ecr: [entry('web'), entry('api'), entry('api', '{registry}/{repository}@{digest}')],
    })
    expect(readEcrFilters(path)).toEqual({ tagged: ['web'], untagged: ['api'] })
  })

  it('fails synth on a broken file, with the events function\'s own validation message', () => {
    expect(() => readEcrFilters(file('{ not json'))).toThrow(/not valid JSON/)
    expect(() => readEcrFilters(file({ ecr: [{ repo: 'x', environments: ['staging'] }] }))).toThrow(
      /ecr\[0\]: ecrRepository is required/,
    )
    expect(() => readEcrFilters(file({ mappings: [] }))).toThrow(/unknown key "mappings"/)
  })
})

describe('contextEcrFilters', () => {
  it('treats context repositories as tagged-push filters', () => {
    expect(contextEcrFilters(['b', 'a/*'])).toEqual({ tagged: [{ wildcard: 'a/*' }, 'b'], untagged: [] })
  })
})
