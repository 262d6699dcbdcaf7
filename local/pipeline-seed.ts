/**
 * `npm start`'s demo pipeline: the seeded deploy-configs repo gets a third
 * environment, dev, pinned by digest, so dev → staging → production can be
 * promoted right away (local/policy.yaml grants those paths to the local key).
 * Added once, next to the seed; an existing dev file is left as it is.
 */
import { Client } from '../functions/lib/githosted/index.js'
import { isNotFound } from '../functions/lib/deploys/errors.js'

export const DEV_ENVIRONMENT = {
  image: 'ghcr.io/acme/app:1.1.0',
  imageDigest: `sha256:${'5e'.repeat(32)}`,
  replicas: 1,
  env: { LOG_LEVEL: 'debug' },
}

export async function ensurePipeline(url: string, token: string, repo = 'deploy-configs'): Promise<void> {
  const handle = new Client({ token, baseUrl: url }).repo(repo)
  try {
    await handle.read('environments/dev.json')
    return
  } catch (err) {
    if (!isNotFound(err)) throw err
  }
  await handle.write('environments/dev.json', `${JSON.stringify(DEV_ENVIRONMENT, null, 2)}\n`, {
    message: 'Seed environments/dev.json (dev → staging → production)',
    authorName: 'githosted-local seed',
    authorEmail: 'seed@githosted.local',
  })
}
