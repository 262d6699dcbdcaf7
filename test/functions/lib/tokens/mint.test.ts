import { describe, expect, it } from 'vitest'
import { tokenName } from '../../../../functions/lib/tokens/mint.js'

describe('tokenName', () => {
  it('sanitizes the subject and appends unix seconds', () => {
    const at = new Date(1_773_342_238_000)
    expect(tokenName('github:acme/app:ref:refs/heads/main', at)).toBe('ci-github-acme-app-ref-refs-heads-main-1773342238')
    expect(tokenName('%%%', at)).toBe('ci-caller-1773342238')
    expect(tokenName('x'.repeat(200), at).length).toBeLessThanOrEqual(3 + 48 + 1 + 10)
  })
})
