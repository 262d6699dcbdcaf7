import { describe, expect, it } from 'vitest'
import { ConfigError } from '../../../functions/lib/errors.js'
import { imagePointersOf, loadMapping, matchEcr, promotionSettingsFor } from '../../../functions/events/mapping.js'
import { parseEvent } from '../../../functions/events/parse.js'

const push = { account: '123456789012', region: 'eu-west-1', repository: 'acme/app', digest: `sha256:${'a'.repeat(64)}` }

describe('deploy mapping', () => {
  const mapping = loadMapping({
    ecr: [
      { ecrRepository: 'acme/*', tagPattern: 'v?.*', repo: 'deploy-configs', environments: ['staging'] },
      { ecrRepository: 'acme/app', repo: 'deploy-configs', environments: ['dev'], pointer: '/services/app/image', imageFormat: '{registry}/{repository}@{digest}' },
    ],
  })

  it('matches repository and tag globs (anchored) and formats the image', () => {
    expect(matchEcr(mapping, { ...push, tag: 'v1.2' }).map((m) => m.image)).toEqual([
      '123456789012.dkr.ecr.eu-west-1.amazonaws.com/acme/app:v1.2',
      `123456789012.dkr.ecr.eu-west-1.amazonaws.com/acme/app@${push.digest}`,
    ])
    expect(matchEcr(mapping, { ...push, tag: 'xv1.2' }).map((m) => m.rule.environments[0])).toEqual(['dev'])
    // Untagged pushes only match digest formats.
    expect(matchEcr(mapping, push).map((m) => m.rule.environments[0])).toEqual(['dev'])
    expect(matchEcr(mapping, { ...push, repository: 'other/app', tag: 'v1.2' })).toEqual([])
  })

  it('lists the pointers it writes images to, for the deploy API\'s image check', () => {
    expect(imagePointersOf(mapping)).toEqual(['/services/app/image'])
  })

  it('fails loudly on a broken mapping', () => {
    expect(() => loadMapping({ ecr: [{ ecrRepository: 'a', repo: 'r', environments: ['../x'] }] })).toThrow(ConfigError)
    expect(() => loadMapping({ ecr: [{ ecrRepository: 'a', repo: 'r', environments: ['s'], imageFormat: '{nope}' }] })).toThrow(/unknown placeholder \{nope\}/)
    expect(() => loadMapping({ ecr: [{ ecrRepository: 'a', repo: 'r', environments: ['s'], pointer: 'image' }] })).toThrow(/must start with/)
    expect(() => loadMapping([])).toThrow(/must be an object/)
  })
})

describe('parseEvent', () => {
  it('reads a custom deploy request with its own event time', () => {
    const e = parseEvent({
      version: '0',
      id: 'abc-1',
      'detail-type': 'Deploy Requested',
      source: 'githosted-ci-broker',
      time: '2026-03-12T19:10:00Z',
      detail: { repo: 'deploy-configs', environment: 'staging', set: { '/replicas': 2 }, requestedBy: 'bot', eventTime: '2026-03-12T19:09:59.5Z' },
    })
    expect(e).toMatchObject({ kind: 'deploy-request', time: '2026-03-12T19:09:59.5Z', change: { set: { '/replicas': 2 } } })
  })

  it('records the sending account from the envelope, and rejects a malformed one', () => {
    const request = {
      version: '0',
      id: 'abc-2',
      'detail-type': 'Deploy Requested',
      source: 'githosted-ci-broker',
      time: '2026-03-12T19:10:00Z',
      detail: { repo: 'deploy-configs', environment: 'staging', image: 'r/app:1', requestedBy: 'i-say-i-am-the-release-bot' },
    }
    expect(parseEvent({ ...request, account: '111111111111' })).toMatchObject({ senderAccount: '111111111111', requestedBy: 'i-say-i-am-the-release-bot' })
    expect(() => parseEvent({ ...request, account: 'me' })).toThrow(/"account" has an unexpected format/)
  })

  it('rejects unknown sources and detail fields', () => {
    const base = { version: '0', id: 'x', time: '2026-03-12T19:10:00Z', 'detail-type': 'Deploy Requested', detail: {} }
    expect(() => parseEvent({ ...base, source: 'evil' })).toThrow(/unknown source/)
    expect(() => parseEvent({ ...base, source: 'githosted-ci-broker', detail: { repo: 'r', environment: 'e', image: 'i', requestedBy: 'b', x: 1 } })).toThrow(/unknown detail field "x"/)
    expect(() => parseEvent({ ...base, source: 'githosted-ci-broker', time: 'yesterday' })).toThrow(/ISO 8601/)
  })
})

describe('deploy mapping: digests and promotions', () => {
  it('keeps old mappings valid: no digest written, promotions default to the digest field', () => {
    const old = loadMapping({ ecr: [{ ecrRepository: 'acme/app', repo: 'deploy-configs', environments: ['staging'] }] })
    expect(old.ecr[0]!.writeDigest).toBe(false)
    expect(promotionSettingsFor(old, 'deploy-configs')).toEqual({ digest: 'field' })
    const pinned = loadMapping({ promotions: [{ repo: 'deploy-configs', digest: 'reference' }] })
    expect(promotionSettingsFor(pinned, 'deploy-configs')).toEqual({ digest: 'reference' })
    expect(promotionSettingsFor(pinned, 'other')).toEqual({ digest: 'field' })
  })

  it.each([
    [{ promotions: [{ repo: 'deploy-configs', digest: 'tag' }] }, 'promotions[0]: digest must be "field" or "reference"'],
    [{ promotions: [{ repo: 'deploy-configs' }, { repo: 'deploy-configs' }] }, 'promotions[1]: repo deploy-configs is listed twice'],
    [{ promotions: [{ repo: 'deploy-configs', mode: 'x' }] }, 'promotions[0]: unknown key "mode"'],
    [{ promotions: {} }, '"promotions" must be a list'],
    [{ ecr: [{ ecrRepository: 'a', repo: 'r', environments: ['s'], writeDigest: 'yes' }] }, 'ecr[0]: writeDigest must be true or false'],
  ])('refuses %j', (doc, message) => {
    expect(() => loadMapping(doc)).toThrow(ConfigError)
    expect(() => loadMapping(doc)).toThrow(message)
  })
})
