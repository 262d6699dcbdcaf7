import { describe, expect, it } from 'vitest'
import { formatDeployMessage, parseDeployTrailers } from '../../../../functions/lib/deploys/trailers.js'

describe('deploy trailers', () => {
  it('round-trip, including the base commit and removed keys, and cannot be injected', () => {
    const msg = formatDeployMessage('Deploy app:2 to production', {
      environment: 'production',
      source: 'repair',
      changes: [
        { pointer: '/image', previous: 'app:1', current: 'app:2' },
        { pointer: '/flag', previous: true, current: null, removed: true },
      ],
      requester: 'key:ci\nDeploy-Source: api',
      baseCommit: 'a'.repeat(40),
    })
    const t = parseDeployTrailers(msg)!
    expect(t).toMatchObject({ source: 'repair', baseCommit: 'a'.repeat(40), requester: 'key:ci\nDeploy-Source: api' })
    expect(t.changes).toEqual([
      { pointer: '/image', previous: 'app:1', current: 'app:2' },
      { pointer: '/flag', previous: true, current: null, removed: true },
    ])
    expect(msg.split('\n').filter((l) => l.startsWith('Deploy-Source:'))).toEqual(['Deploy-Source: repair'])
  })
})

describe('promotion and verification trailers', () => {
  it('round-trip Deploy-Promoted-From, Verified-By and Verified-Commit, one line each', () => {
    const sha = 'a'.repeat(40)
    const message = formatDeployMessage('Promote ghcr.io/acme/app:1.0 from staging to production', {
      environment: 'production',
      source: 'promotion',
      changes: [{ pointer: '/image', previous: 'ghcr.io/acme/app:0.9', current: 'ghcr.io/acme/app:1.0' }],
      promotedFrom: `staging@${sha}`,
      verifiedBy: 'e2e\nDeploy-Source: api',
      verifiedCommit: sha,
    })
    expect(message).toContain(`\nDeploy-Promoted-From: staging@${sha}\n`)
    expect(parseDeployTrailers(message)).toMatchObject({ source: 'promotion', promotedFrom: `staging@${sha}`, verifiedBy: 'e2e\nDeploy-Source: api', verifiedCommit: sha })
  })
})
