/**
 * The seed CI job ("CI Token Scoping" in githosted's docs), as a script:
 *
 *   JOB_TOKEN=gr_... REPO_SLUG=deploy-configs NEW_IMAGE_TAG=ghcr.io/acme/app:1.4.2 \
 *     npx tsx scripts/update-deploy-config.ts
 *
 * Reads environments/production.json with its head, sets `image`, writes
 * with expectedHead. Unlike the seed code it edits the file in place (a
 * one-line diff, formatting kept), re-applies on a concurrent deploy to
 * other keys, fails only on a real conflict, makes no commit when the image
 * is already deployed, and repairs a clobbered write on servers that ignore
 * expectedHead. Optional: DEPLOY_ENVIRONMENT (default production),
 * GITHOSTED_URL. Exit 0 on success; non-zero with the error message on
 * failure. The token is never printed.
 */
import { resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { applyConfigUpdate } from '../functions/lib/deploys/apply.js'
import { Client } from '../functions/lib/githosted/index.js'
import { ciRequester, ciRunUrl } from './ci-env.js'

export type Env = Record<string, string | undefined>

export interface Output {
  out: (line: string) => void
  err: (line: string) => void
}

/** Runs the job; returns the process exit code. */
export async function updateDeployConfig(env: Env, io: Output): Promise<number> {
  const missing = ['JOB_TOKEN', 'REPO_SLUG', 'NEW_IMAGE_TAG'].filter((n) => !env[n]?.trim())
  if (missing.length > 0) {
    io.err(`CI job failed: missing environment variable(s) ${missing.join(', ')}`)
    return 2
  }
  const repoSlug = env.REPO_SLUG!.trim()
  const environment = env.DEPLOY_ENVIRONMENT?.trim() || 'production'
  try {
    const client = new Client({ token: env.JOB_TOKEN!.trim(), ...(env.GITHOSTED_URL ? { baseUrl: env.GITHOSTED_URL } : {}), clientName: 'githosted-ci-broker-job' })
    const runUrl = ciRunUrl(env)
    const result = await applyConfigUpdate(
      { repo: client.repo(repoSlug), repoName: repoSlug },
      {
        environment,
        change: { image: env.NEW_IMAGE_TAG!.trim() },
        source: 'ci-job',
        requester: ciRequester(env),
        ...(runUrl ? { runUrl } : {}),
      },
    )
    io.out(result.changed ? `Deployment config updated: ${result.path} at ${result.commit}` : `Deployment config already up to date: ${result.path} at ${result.commit}`)
    return 0
  } catch (err) {
    io.err(`CI job failed: ${err instanceof Error ? err.message : String(err)}`)
    return 1
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  updateDeployConfig(process.env, { out: (l) => console.log(l), err: (l) => console.error(l) }).then((code) => process.exit(code))
}
