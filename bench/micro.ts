/**
 * `npx tsx bench/micro.ts <signer|policy>`: the two small measurements behind
 * rows of bench/by-hand/issue-16-changes.md that the scenarios do not isolate.
 *
 * - signer: SigV4 of a state-table request by aws4 (the signer before) and by
 *   lib/state/sigv4.ts, warm (µs of CPU per signature, after 2,000) and cold
 *   (a fresh process: module evaluation plus the first signature; medians).
 * - policy: a fresh process turning config/policy.yaml into the Policy, by
 *   validating and compiling the document (what every cold start did) and by
 *   hydrating the build's compiled form (what it does now); medians.
 *
 * The cold subjects are bundled by esbuild into dist/bench/micro/ and run
 * with plain `node`, like the Lambda bundles.
 */
import { execFileSync } from 'node:child_process'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import aws4 from 'aws4'
import { build } from 'esbuild'
import { ESM_REQUIRE_BANNER } from '../build/bundle.js'
import { toCompiledPolicyData } from '../functions/lib/policy/compiled.js'
import { compilePolicy } from '../functions/lib/policy/load.js'
import { parsePolicyText } from '../functions/lib/policy/load-file.js'
import { createSigV4Signer } from '../functions/lib/state/sigv4.js'
import { OUT, ROOT } from './harness/bundles.js'
import { median } from './harness/stats.js'

const DIR = join(OUT, 'micro')
const BODY = JSON.stringify({
  TableName: 'githosted-ci-broker-state',
  Key: { pk: { S: 'rate#token#0123456789abcdef0123456789abcdef' } },
  UpdateExpression: 'ADD #n :one SET #ttl = :exp',
  ConditionExpression: 'attribute_not_exists(#n) OR #n < :limit',
  ExpressionAttributeNames: { '#n': 'n', '#ttl': 'expiresAt' },
  ExpressionAttributeValues: { ':one': { N: '1' }, ':limit': { N: '30' }, ':exp': { N: '1999999999' } },
})
const CREDS = { accessKeyId: 'ASIAEXAMPLE', secretAccessKey: 'example-secret', sessionToken: 'IQoJb3JpZ2luX2VjEXAMPLE' }
const HOST = 'dynamodb.us-east-1.amazonaws.com'
const HEADERS = { 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': 'DynamoDB_20120810.UpdateItem' }

/** Builds `source` (a module that prints one number) and runs it `n` times in fresh processes. */
async function coldRuns(name: string, source: string, n: number): Promise<number[]> {
  mkdirSync(DIR, { recursive: true })
  const entry = join(DIR, `${name}.ts`)
  const outfile = join(DIR, `${name}.mjs`)
  writeFileSync(entry, source)
  await build({ entryPoints: [entry], outfile, bundle: true, platform: 'node', format: 'esm', minify: true, banner: { js: ESM_REQUIRE_BANNER }, logLevel: 'warning' })
  return Array.from({ length: n }, () => Number(execFileSync(process.execPath, [outfile], { encoding: 'utf8' }).trim()))
}

async function signer() {
  const ours = createSigV4Signer({ region: 'us-east-1', service: 'dynamodb' })
  const subjects: Array<[string, () => unknown]> = [
    ['aws4', () => aws4.sign({ host: HOST, path: '/', method: 'POST', service: 'dynamodb', region: 'us-east-1', headers: { ...HEADERS }, body: BODY }, CREDS)],
    ['lib/state/sigv4.ts', () => ours.sign({ host: HOST, headers: HEADERS, body: Buffer.from(BODY) }, CREDS)],
  ]
  for (let round = 0; round < 3; round++) {
    for (const [name, sign] of subjects) {
      for (let i = 0; i < 2000; i++) sign()
      const c0 = process.cpuUsage()
      for (let i = 0; i < 20_000; i++) sign()
      const c = process.cpuUsage(c0)
      console.log(`warm, round ${round + 1}: ${name.padEnd(18)} ${((c.user + c.system) / 20_000).toFixed(1)} µs CPU per signature`)
    }
  }
  const q = (p: string) => JSON.stringify(join(ROOT, p))
  const head = `import { performance } from 'node:perf_hooks'\nconst t0 = performance.now()\n`
  const cold = {
    aws4: await coldRuns('sign-aws4', `${head}const aws4 = (await import('aws4')).default\naws4.sign({ host: '${HOST}', path: '/', method: 'POST', service: 'dynamodb', region: 'us-east-1', headers: ${JSON.stringify(HEADERS)}, body: ${JSON.stringify(BODY)} }, ${JSON.stringify(CREDS)})\nconsole.log(performance.now() - t0)\n`, 9),
    ours: await coldRuns('sign-ours', `${head}const { createSigV4Signer } = await import(${q('functions/lib/state/sigv4.ts')})\ncreateSigV4Signer({ region: 'us-east-1', service: 'dynamodb' }).sign({ host: '${HOST}', headers: ${JSON.stringify(HEADERS)}, body: Buffer.from(${JSON.stringify(BODY)}) }, ${JSON.stringify(CREDS)})\nconsole.log(performance.now() - t0)\n`, 9),
  }
  console.log(`cold (module evaluation + first signature, median of 9 fresh processes): aws4 ${median(cold.aws4).toFixed(2)} ms, lib/state/sigv4.ts ${median(cold.ours).toFixed(2)} ms`)
}

async function policy() {
  const document = parsePolicyText(readFileSync(join(ROOT, 'config', 'policy.yaml'), 'utf8'))
  mkdirSync(DIR, { recursive: true })
  writeFileSync(join(DIR, 'policy-document.json'), JSON.stringify(document))
  writeFileSync(join(DIR, 'policy-built.json'), JSON.stringify(toCompiledPolicyData(compilePolicy(document))))
  const q = (p: string) => JSON.stringify(join(ROOT, p))
  const head = `import { performance } from 'node:perf_hooks'\nconst t0 = performance.now()\n`
  const validate = await coldRuns('policy-validate', `${head}const { loadPolicy } = await import(${q('functions/lib/policy/index.ts')})\nconst doc = (await import('./policy-document.json', { with: { type: 'json' } })).default\nloadPolicy(doc)\nconsole.log(performance.now() - t0)\n`, 9)
  const hydrate = await coldRuns('policy-hydrate', `${head}const { policyFromBuild } = await import(${q('functions/lib/policy/compiled.ts')})\nconst data = (await import('./policy-built.json', { with: { type: 'json' } })).default\npolicyFromBuild(data)\nconsole.log(performance.now() - t0)\n`, 9)
  console.log(`config/policy.yaml to a Policy in a fresh process (module evaluation included, median of 9): validate + compile ${median(validate).toFixed(2)} ms, hydrate the build's form ${median(hydrate).toFixed(2)} ms`)
}

const which = process.argv[2]
const t0 = performance.now()
;(which === 'signer' ? signer() : which === 'policy' ? policy() : Promise.reject(new Error('usage: bench/micro.ts <signer|policy>')))
  .then(() => console.log(`(${((performance.now() - t0) / 1000).toFixed(1)} s)`))
  .catch((err) => {
    console.error(err instanceof Error ? err.message : err)
    process.exit(1)
  })
