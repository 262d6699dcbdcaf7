/**
 * The Node.js the deployed functions run on, for tests that invoke the built
 * assets the way Lambda does. The stack pins the runtime (nodejs22.x,
 * infra/broker-function.ts) while developers and CI may run another major
 * (20 on these machines), so a test on `process.execPath` alone would never
 * run the assets on the Node they ship to.
 *
 * The npm registry carries Node's own release binaries as packages
 * (`node-<platform>-<arch>`, what the `node` package installs), so the first
 * call fetches the pinned release with `npm pack` (npm checks the tarball
 * against the registry's integrity hash) into node_modules/.cache, and later
 * calls and runs reuse it. When this process already runs that major, it is
 * used as is.
 */
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { ROOT } from './local-product.js'

/** The newest Node 22 release when this was written; the runtime's own patch release is AWS's choice. */
export const LAMBDA_NODE_VERSION = '22.23.5'
export const LAMBDA_NODE_MAJOR = Number(LAMBDA_NODE_VERSION.split('.')[0])

/** Path of a `node` binary of LAMBDA_NODE_MAJOR; fetches it on first use. Throws (never skips) when it cannot. */
export function lambdaNode(): string {
  if (Number(process.versions.node.split('.')[0]) === LAMBDA_NODE_MAJOR) return process.execPath
  const pkg = `node-${process.platform}-${process.arch}`
  const dir = join(ROOT, 'node_modules', '.cache', 'lambda-node', `${pkg}-${LAMBDA_NODE_VERSION}`)
  const bin = join(dir, 'bin', 'node')
  if (existsSync(bin)) return bin
  mkdirSync(join(dir, '..'), { recursive: true })
  // Unpacked beside the target and renamed into place, so a concurrent or interrupted fetch never leaves half a binary.
  const tmp = mkdtempSync(`${dir}.partial-`)
  try {
    try {
      execFileSync('npm', ['pack', `${pkg}@${LAMBDA_NODE_VERSION}`, '--pack-destination', tmp, '--silent'], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 300_000 })
    } catch (err) {
      throw new Error(`could not fetch ${pkg}@${LAMBDA_NODE_VERSION} from the npm registry (the Lambda runtime's Node for the asset tests): ${(err as { stderr?: Buffer }).stderr?.toString().trim() || (err as Error).message}`)
    }
    const tarball = readdirSync(tmp).find((f) => f.endsWith('.tgz'))
    if (!tarball) throw new Error(`npm pack ${pkg}@${LAMBDA_NODE_VERSION} wrote no tarball`)
    execFileSync('tar', ['-xzf', join(tmp, tarball), '-C', tmp])
    try {
      renameSync(join(tmp, 'package'), dir)
    } catch (err) {
      if (!existsSync(bin)) throw err // another run got there first otherwise
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true })
  }
  return bin
}
