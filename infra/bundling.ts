/**
 * How the Lambda code is built: by build/bundle.ts, the same bundler (esbuild
 * JS API, yaml plugin, banner, minify, metafile) that produces the dist/
 * bundles the tests and benchmarks run, so the deployed artifact is the tested
 * artifact. CDK runs it as a local bundling step (no Docker) and hashes the
 * output, exactly as NodejsFunction does with its own esbuild run.
 *
 * Why not NodejsFunction's built-in bundling: it drives the esbuild CLI, which
 * cannot load plugins, and the policy is imported as `config/policy.yaml`
 * through a yaml->JSON plugin that also validates it at build time. esbuild's
 * loaders cannot parse YAML, and its aliases do not apply to relative imports,
 * so no NodejsFunction option reproduces that bundle. docs/aws-design.md has
 * the full comparison.
 */
import { AssetHashType, DockerImage } from 'aws-cdk-lib'
import * as lambda from 'aws-cdk-lib/aws-lambda'
import { execFileSync } from 'node:child_process'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

/** Options of one function's bundle; see infra/bundle-function.ts. */
export interface BundlingChoices {
  /** Emit a source map and run with --enable-source-maps (slower cold start; off by default). */
  sourceMaps: boolean
  /** Per-stage config directory, relative to the project root (`config` for the shared one). */
  configDir: string
}

/**
 * Where a function's esbuild metafile goes: under dist/, never inside the
 * asset (its paths name the checkout, which would make the asset hash differ
 * per machine and redeploy every function from every CI workspace).
 */
export function assetMetafilePath(projectRoot: string, name: string, configDir: string): string {
  const variant = configDir === 'config' ? '' : `-${configDir.replace(/[^A-Za-z0-9]+/g, '_')}`
  return join(projectRoot, 'dist', 'cdk-assets', `${name}${variant}.meta.json`)
}

/**
 * `@aws-sdk/*` comes from the Lambda runtime, not from the asset. On Lambda
 * the functions read secrets through the Parameters and Secrets extension
 * (SECRETS_SOURCE=extension) where the region has it, so the SDK is needed
 * only by the state table and by the SDK fallback mode; both import it lazily.
 * Shipping ~450 KB that the deployed path never loads would only slow the
 * code download. Measurements: docs/aws-design.md and BENCHMARKS.md.
 */
export const EXTERNAL_MODULES: string[] = ['@aws-sdk/*']

/** Lambda code for functions/<name>/handler.ts, bundled locally at synth time. */
export function functionCode(projectRoot: string, name: string, choices: BundlingChoices): lambda.Code {
  return lambda.Code.fromAsset(projectRoot, {
    // Hash the bundle, not the repository: unrelated file changes must not
    // redeploy a function, and node_modules must not be fingerprinted.
    assetHashType: AssetHashType.OUTPUT,
    bundling: {
      // Required by the API, never pulled: local bundling always succeeds or throws.
      image: DockerImage.fromRegistry('public.ecr.aws/docker/library/node:22-alpine'),
      // CDK caches bundles by source path and bundling options; the `local` hook does
      // not count, so without this all four functions would share the first bundle.
      // Relative values only: these are part of the asset's cache key, never of its content.
      environment: { BROKER_FUNCTION: name, BROKER_SOURCE_MAPS: String(choices.sourceMaps), BROKER_CONFIG_DIR: choices.configDir },
      local: {
        tryBundle(outputDir: string): boolean {
          runBundler(projectRoot, name, outputDir, choices)
          return true
        },
      },
    },
  })
}

/** Runs infra/bundle-function.ts in a child process (CDK's bundling hook is synchronous). */
function runBundler(projectRoot: string, name: string, outputDir: string, choices: BundlingChoices): void {
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href
  const script = fileURLToPath(new URL('./bundle-function.ts', import.meta.url))
  const entry = join(projectRoot, 'functions', name, 'handler.ts')
  const metafile = assetMetafilePath(projectRoot, name, choices.configDir)
  const args = ['--import', tsx, script, name, outputDir, `--entry=${entry}`, `--metafile=${metafile}`]
  if (choices.configDir !== 'config') args.push(`--config-dir=${join(projectRoot, choices.configDir)}`)
  if (choices.sourceMaps) args.push('--sourcemap')
  if (EXTERNAL_MODULES.length > 0) args.push(`--external=${EXTERNAL_MODULES.join(',')}`)
  try {
    const summary = execFileSync(process.execPath, args, { cwd: projectRoot, stdio: ['ignore', 'pipe', 'pipe'] })
    // stderr, like CDK's own "Bundling asset" lines: `cdk synth` prints the template on stdout.
    process.stderr.write(summary)
  } catch (err) {
    const stderr = (err as { stderr?: Buffer }).stderr?.toString().trim()
    throw new Error(`bundling functions/${name} failed${stderr ? `:\n${stderr}` : ''}`)
  }
}
