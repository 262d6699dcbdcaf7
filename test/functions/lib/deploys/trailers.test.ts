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
