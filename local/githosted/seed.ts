import type { Backend } from './backend.js'
import type { StoredToken } from './state.js'

/** The repo `npm start` and tests expect. */
export const SEED_REPO = 'deploy-configs'

const SEED_AUTHOR = { authorName: 'githosted-local seed', authorEmail: 'seed@githosted.local' }

function json(value: unknown): Uint8Array {
  return new TextEncoder().encode(`${JSON.stringify(value, null, 2)}\n`)
}

/** Seed environment files: 2-space JSON with a trailing newline, as humans write them. */
export const SEED_FILES: Record<string, unknown> = {
  'environments/staging.json': {
    image: 'ghcr.io/acme/app:1.0.0',
    replicas: 1,
    env: { LOG_LEVEL: 'debug' },
  },
  'environments/production.json': {
    image: 'ghcr.io/acme/app:1.0.0',
    replicas: 2,
    env: { LOG_LEVEL: 'info' },
  },
}

/** Creates `deploy-configs` with one commit per environment file. */
export async function seedRepos(backend: Backend, writer: StoredToken): Promise<void> {
  await backend.createRepo(SEED_REPO, '')
  for (const [path, value] of Object.entries(SEED_FILES)) {
    await backend.write(
      writer,
      {
        workspaceRef: '',
        repoRef: SEED_REPO,
        branch: '',
        path,
        content: json(value),
        message: `Seed ${path}`,
        expectedHead: '',
        ...SEED_AUTHOR,
      },
      'write_file',
    )
  }
}
