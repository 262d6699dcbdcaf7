/**
 * Synthesizes the broker app for tests: cdk.json's context (feature flags and
 * defaults, as `cdk synth` would see them) plus per-test overrides, into a
 * temp directory that is removed by `cleanup()`.
 */
import { readFileSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Template } from 'aws-cdk-lib/assertions'
import type { CloudAssembly } from 'aws-cdk-lib/cx-api'
import { createApp, PROJECT_ROOT, type CreatedApp } from '../../infra/main.js'

/** The context block of cdk.json. */
export function cdkJsonContext(): Record<string, unknown> {
  return JSON.parse(readFileSync(join(PROJECT_ROOT, 'cdk.json'), 'utf8')).context
}

export interface Synthesized extends CreatedApp {
  template: Template
  assembly: CloudAssembly
  outdir: string
  cleanup(): void
}

/** Synthesizes with bundling skipped unless `bundle` is set (esbuild x4 is slow). */
export function synth(
  context: Record<string, unknown> = {},
  options: { bundle?: boolean; before?: (app: CreatedApp) => void } = {},
): Synthesized {
  const outdir = mkdtempSync(join(tmpdir(), 'broker-cdk-'))
  const cleanup = () => rmSync(outdir, { recursive: true, force: true })
  try {
    return synthInto(outdir, context, options, cleanup)
  } catch (err) {
    cleanup()
    throw err
  }
}

function synthInto(
  outdir: string,
  context: Record<string, unknown>,
  options: { bundle?: boolean; before?: (app: CreatedApp) => void },
  cleanup: () => void,
): Synthesized {
  const created = createApp({
    outdir,
    context: {
      ...cdkJsonContext(),
      ...(options.bundle ? {} : { 'aws:cdk:bundling-stacks': [] }),
      ...context,
    },
  })
  options.before?.(created)
  const assembly = created.app.synth()
  return { ...created, template: Template.fromStack(created.stack), assembly, outdir, cleanup }
}
