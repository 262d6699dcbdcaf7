/**
 * The layering docs/architecture.md describes, checked on the source: an
 * import that breaks a rule fails here with the file and the import named.
 */
import { readFileSync } from 'node:fs'
import { execSync } from 'node:child_process'
import path from 'node:path'
import { describe, expect, it } from 'vitest'

interface Import {
  from: string
  /** A repo-relative path for relative imports, the package name otherwise. */
  to: string
}

const files = execSync("git ls-files -co --exclude-standard 'functions/*.ts' 'functions/**/*.ts' 'functions/**/*.tsx'", { encoding: 'utf8' })
  .trim()
  .split('\n')
  .filter((f) => !f.includes('/gen/'))

const imports: Import[] = files.flatMap((from) => {
  const source = readFileSync(from, 'utf8')
  return [...source.matchAll(/(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => {
    const spec = (m[1] ?? m[2])!
    const to = spec.startsWith('.') ? path.normalize(path.join(path.dirname(from), spec)).replace(/\.js$/, '.ts') : spec
    return { from, to }
  })
})

/** functions/lib/<folder>, or functions/<function> for the function folders. */
function unit(file: string): string {
  const parts = file.split('/')
  return parts[1] === 'lib' && parts.length > 3 ? parts.slice(0, 3).join('/') : parts.slice(0, 2).join('/')
}

const FUNCTION_DIRS = ['functions/token/', 'functions/deploy/', 'functions/status/', 'functions/events/']
const isFunctionFile = (f: string) => FUNCTION_DIRS.some((d) => f.startsWith(d))

function offenders(rule: (i: Import) => boolean): string[] {
  return imports.filter(rule).map((i) => `${i.from} -> ${i.to}`)
}

describe('layers', () => {
  it('reads the source it checks', () => {
    expect(files.length).toBeGreaterThan(100)
    expect(imports.some((i) => i.to === 'hono')).toBe(true)
  })

  it('lib/ never imports a function: the functions are built on it, not the other way', () => {
    expect(offenders((i) => i.from.startsWith('functions/lib/') && isFunctionFile(i.to))).toEqual([])
  })

  it('only the edge kit and the function adapters know Hono', () => {
    expect(offenders((i) => /^hono(\/|$)/.test(i.to) && !(i.from.startsWith('functions/lib/edge/') || isFunctionFile(i.from)))).toEqual([])
  })

  it('the use cases are free of the edge: services take plain inputs', () => {
    expect(offenders((i) => /^functions\/lib\/[^/]+\/service\.ts$/.test(i.from) && i.to.startsWith('functions/lib/edge/'))).toEqual([])
  })

  it('only the secrets wiring reaches for the AWS SDK (loaded on demand)', () => {
    const allowed = ['functions/lib/secrets/', 'functions/lib/lambda/secret-sources.ts']
    expect(offenders((i) => i.to.startsWith('@aws-sdk/') && !allowed.some((a) => i.from.startsWith(a)))).toEqual([])
  })

  it('no two lib folders import each other', () => {
    const edges = new Map<string, Set<string>>()
    for (const i of imports) {
      if (!i.to.startsWith('functions/')) continue
      const [a, b] = [unit(i.from), unit(i.to)]
      if (a === b) continue
      if (!edges.has(a)) edges.set(a, new Set())
      edges.get(a)!.add(b)
    }
    const cycles = [...edges].flatMap(([a, bs]) => [...bs].filter((b) => a < b && edges.get(b)?.has(a)).map((b) => `${a} <-> ${b}`))
    expect(cycles).toEqual([])
  })
})
