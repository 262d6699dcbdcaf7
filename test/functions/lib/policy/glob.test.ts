import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { compileGlob, globProblem } from '../../../../functions/lib/policy/glob.js'

describe('policy globs', () => {
  it.each([
    ['refs/heads/main', 'refs/heads/main', true],
    ['refs/heads/main', 'refs/heads/main2', false], // anchored at the end
    ['refs/heads/main', 'xrefs/heads/main', false], // anchored at the start
    ['refs/heads/*', 'refs/heads/feature', true],
    ['refs/heads/*', 'refs/heads/feature/x', false], // * never crosses /
    ['refs/heads/release-*', 'refs/heads/release-1.2', true],
    ['repo:acme/*:ref:refs/heads/main', 'repo:acme/app:ref:refs/heads/main', true],
    ['repo:acme/*:ref:refs/heads/main', 'repo:acme/app:environment:prod:ref:refs/heads/main', false], // nor :
    ['refs/heads/**', 'refs/heads/a/b/c', true],
    ['refs/heads/**', 'refs/heads', false],
    ['a/**/z', 'a/z', true],
    ['a/**/z', 'a/b/c/z', true],
    ['a/**/z', 'ab/z', false],
    ['**/deploy.yml', '.github/workflows/deploy.yml', true],
    ['acme/**', 'acme/x:y', false], // ** never crosses :
    ['v1.2.0', 'v1x2x0', false], // . is literal
    ['a+b', 'aab', false], // + is literal
    ['(x|y)', '(x|y)', true], // regex syntax is literal
    ['(x|y)', 'x', false],
    ['[ab]', 'a', false],
    ['^a$', '^a$', true],
    ['a\\d', 'a\\d', true],
    ['a\\d', 'a1', false],
  ])('%s vs %s -> %s', (pattern, value, expected) => {
    expect(globProblem(pattern)).toBeUndefined()
    expect(compileGlob(pattern).test(value)).toBe(expected)
  })

  it.each([
    ['', /empty/],
    ['*', /matches almost anything/],
    ['**', /matches almost anything/],
    ['*/*', /matches almost anything/],
    ['*:*', /matches almost anything/],
    ['refs/heads/ma**', /whole path segment/],
    ['**x', /whole path segment/],
    ['a:**', /whole path segment/],
    ['a/***', /\*\*\*/],
    [' main', /whitespace/],
    ['a\nb', /control/],
    ['x'.repeat(600), /longer than/],
  ])('rejects %j', (pattern, message) => {
    expect(globProblem(pattern)).toMatch(message)
  })

  it('knows the literal prefix before the first wildcard', () => {
    expect(compileGlob('acme/*').literalPrefix).toBe('acme/')
    expect(compileGlob('acme/app').hasWildcard).toBe(false)
  })
})

/**
 * The regex translation the broker used before its matcher became linear: the
 * reference for what each pattern means (correct, but it backtracks).
 */
function referenceGlob(pattern: string): (value: string) => boolean {
  const escape = (text: string) => text.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&')
  let source = ''
  let i = 0
  while (i < pattern.length) {
    if (pattern.startsWith('**', i)) {
      const atEnd = i + 2 === pattern.length
      if (atEnd) {
        source += '[^:]+'
        i += 2
      } else {
        source += '(?:[^:]*/)?'
        i += 3
      }
    } else if (pattern[i] === '*') {
      source += '[^/:]*'
      i += 1
    } else {
      source += escape(pattern[i] as string)
      i += 1
    }
  }
  const re = new RegExp(`^${source}$`)
  return (value) => re.test(value)
}

describe('policy globs agree with the reference matcher', () => {
  const token = fc.constantFrom('a', 'b', 'ab', '-', '.', '/', ':', '*', '**')
  const pattern = fc
    .array(token, { minLength: 1, maxLength: 8 })
    .map((parts) => parts.join(''))
    .filter((p) => globProblem(p) === undefined)
  const value = fc
    .array(fc.constantFrom('a', 'b', '-', '.', '/', ':', ''), { maxLength: 12 })
    .map((parts) => parts.join(''))

  it('on random patterns and values', () => {
    fc.assert(
      fc.property(pattern, value, (p, v) => compileGlob(p).test(v) === referenceGlob(p)(v)),
      { numRuns: 5000 },
    )
  })

  it('on values built to nearly match the pattern', () => {
    // Values derived from the pattern itself hit the interesting boundaries far more often.
    const filler = fc.constantFrom('', 'a', 'b/a', '/', 'ab', ':')
    fc.assert(
      fc.property(pattern, fc.array(filler, { minLength: 4, maxLength: 4 }), (p, fills) => {
        let n = 0
        const v = p.replace(/\*\*|\*/g, () => fills[n++ % fills.length] as string)
        return compileGlob(p).test(v) === referenceGlob(p)(v)
      }),
      { numRuns: 5000 },
    )
  })
})
