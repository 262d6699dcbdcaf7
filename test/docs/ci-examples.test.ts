/**
 * docs/ci-examples.md as a user pastes it: every ```bash block runs with
 * bash against the local product (`npm start` on ephemeral ports), in a
 * fresh app repo with the packed CLI installed; each must also fail (not
 * pass silently) with a bad credential. The YAML examples may only use the
 * Action's and the GitLab component's declared inputs and outputs, and the
 * component's own job script runs against the local product too.
 */
import { type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parse as parseYaml, parseAllDocuments } from 'yaml'
import { findSecrets } from '../setup/secret-patterns.js'
import { ROOT, startProduct, stopProduct, type StartedProduct } from '../helpers/local-product.js'
import { packAndInstall, runIn, type PackedApp } from '../helpers/packed-cli.js'

const doc = readFileSync(join(ROOT, 'docs', 'ci-examples.md'), 'utf8')
const blocks = (lang: string) => [...doc.matchAll(new RegExp('^```' + lang + '\\n([\\s\\S]*?)^```$', 'gm'))].map((m) => m[1]!)
const bashBlocks = blocks('bash')
const yamlBlocks = blocks('yaml')

let work: string
let packed: PackedApp
let child: ChildProcess
let s: StartedProduct

const idToken = async (provider = 'github') => (await fetch(`${s.broker}/_local/id-token?provider=${provider}`)).text()

async function runSnippet(script: string, env: Record<string, string>) {
  const withBin = { PATH: `${join(packed.app, 'node_modules', '.bin')}:${process.env.PATH ?? ''}`, npm_config_offline: 'true' }
  return runIn(packed.app, 'bash', ['-c', script], { ...withBin, ...env }, work)
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'ci-examples-'))
  packed = await packAndInstall(work)
  ;({ child, info: s } = await startProduct(join(work, 'data')))
}, 180_000)

afterAll(async () => {
  if (child) await stopProduct(child)
  if (work) rmSync(work, { recursive: true, force: true })
})

describe('docs/ci-examples.md', () => {
  it('has shell snippets, each strict (set -euo pipefail) with curl -fsS, and none uses this repo\'s scripts', () => {
    expect(bashBlocks.length).toBeGreaterThanOrEqual(5)
    const shellInYaml = yamlBlocks.flatMap((y) => [...y.matchAll(/run: \|\n((?:\s{10,}.*\n?)+)/g)].map((m) => m[1]!.replace(/^\s+/gm, '')))
    for (const script of [...bashBlocks, ...shellInYaml]) {
      expect(script.split('\n')[0]).toBe('set -euo pipefail')
      for (const curl of script.match(/\bcurl\b[^\n]*/g) ?? []) expect(curl).toMatch(/^curl -fsS\b/)
    }
    expect(doc).not.toMatch(/scripts\/|npm run ci-deploy|curl -sf?\b/)
  })

  it.each(bashBlocks.map((b, i) => [i + 1, b]))('bash block %i runs against the local product, and fails loudly with a bad credential', async (_n, script) => {
    const ok = await runSnippet(script as string, { BROKER_URL: s.broker, BROKER_KEY: s.brokerKey, ID_TOKEN: await idToken(), IMAGE_TAG: '5.0.0' })
    expect(ok.code, ok.err.slice(0, 400)).toBe(0)
    expect(findSecrets(ok.out + ok.err)).toEqual([])

    const bad = await runSnippet(script as string, { BROKER_URL: s.broker, BROKER_KEY: 'gbk_wrong-key-000000000000000000', ID_TOKEN: 'not-a-token', IMAGE_TAG: '5.0.0' })
    expect(bad.code).not.toBe(0)
  })

  it('uses only the Action\'s declared inputs and outputs', () => {
    const action = parseYaml(readFileSync(join(ROOT, 'action.yml'), 'utf8')) as { inputs: Record<string, unknown>; outputs: Record<string, unknown> }
    const steps = yamlBlocks.flatMap((y) => {
      const parsed = parseYaml(y) as { jobs?: Record<string, { steps: unknown[] }>; steps?: unknown[] }
      return (parsed.steps ?? Object.values(parsed.jobs ?? {}).flatMap((j) => j.steps)) as Array<{ uses?: string; with?: Record<string, unknown> }>
    })
    const uses = steps.filter((st) => st.uses?.startsWith('acme/githosted-ci-broker@'))
    expect(uses.length).toBeGreaterThanOrEqual(2)
    for (const st of uses) expect(Object.keys(st.with ?? {}).filter((k) => !(k in action.inputs))).toEqual([])
    const outputs = [...doc.matchAll(/steps\.\w+\.outputs\.([\w-]+)/g)].map((m) => m[1]!)
    expect(outputs.length).toBeGreaterThan(0)
    expect(outputs.filter((o) => !(o in action.outputs))).toEqual([])
  })

  it('uses only the GitLab component\'s declared inputs, and the component\'s job runs against the local product', async () => {
    const [specDoc, jobDoc] = parseAllDocuments(readFileSync(join(ROOT, 'templates', 'deploy.yml'), 'utf8')).map((d) => d.toJS())
    const inputs = (specDoc as { spec: { inputs: Record<string, { default?: string }> } }).spec.inputs
    const include = yamlBlocks.map((y) => parseYaml(y) as { include?: Array<{ component: string; inputs: Record<string, string> }> }).find((y) => y.include)
    expect(include).toBeDefined()
    const used = include!.include![0]!
    expect(used.component).toMatch(/\/deploy@/)
    expect(Object.keys(used.inputs).filter((k) => !(k in inputs))).toEqual([])
    const required = Object.entries(inputs).filter(([, v]) => v?.default === undefined).map(([k]) => k)
    expect(required.filter((k) => !(k in used.inputs))).toEqual([])

    // Interpolate as GitLab does, with the local product and the packed tarball as the CLI package.
    const given: Record<string, string> = { 'broker-url': s.broker, repo: 'deploy-configs', environment: 'staging', image: 'ghcr.io/acme/app:6.0.0', reason: 'pipeline 77', 'cli-package': packed.tarball }
    const value = (name: string) => given[name] ?? inputs[name]?.default ?? ''
    const jobs = jobDoc as Record<string, unknown>
    const text = JSON.stringify(jobs).replace(/\$\[\[ inputs\.([\w-]+) \]\]/g, (_m, name: string) => value(name).replace(/["\\]/g, '\\$&'))
    const job = Object.values(JSON.parse(text) as Record<string, { id_tokens: Record<string, { aud: string }>; variables: Record<string, string>; script: string[] }>)[0]!
    const [tokenVar, { aud }] = Object.entries(job.id_tokens)[0]!
    expect(aud).toBe('githosted-ci-broker')

    const run = await runIn(work, 'sh', ['-c', job.script.join('\n')], { ...job.variables, [tokenVar]: await idToken('gitlab'), npm_config_offline: 'true' })
    expect(run.code, run.err.slice(0, 400)).toBe(0)
    expect(run.out).toMatch(/^deploy-configs\/staging: committed [0-9a-f]{12}$/m)
    const status = (await (await fetch(`${s.broker}/v1/status?repo=deploy-configs`, { headers: { authorization: `Bearer ${s.brokerKey}` } })).json()) as {
      environments: Array<{ environment: string; image: string }>
    }
    expect(status.environments.find((e) => e.environment === 'staging')?.image).toBe('ghcr.io/acme/app:6.0.0')
  })
})
