/**
 * What the CI scripts learn from the CI platform's environment: the run URL
 * (for commit trailers), a default idempotency key (so a retried step does
 * not deploy twice), and how to get an OIDC ID token.
 */
export type Env = Record<string, string | undefined>

/** GitHub Actions or GitLab CI run URL, when the variables are there. */
export function ciRunUrl(env: Env): string | undefined {
  if (env.GITHUB_SERVER_URL && env.GITHUB_REPOSITORY && env.GITHUB_RUN_ID) {
    return `${env.GITHUB_SERVER_URL}/${env.GITHUB_REPOSITORY}/actions/runs/${env.GITHUB_RUN_ID}`
  }
  return env.CI_JOB_URL || undefined
}

/** One key per CI run attempt and environment: a retried HTTP call is a replay, a re-run is a new deploy. */
export function defaultIdempotencyKey(env: Env, environment: string): string | undefined {
  if (env.GITHUB_ACTIONS === 'true' && env.GITHUB_RUN_ID) {
    return `github:${env.GITHUB_REPOSITORY ?? ''}:${env.GITHUB_RUN_ID}:${env.GITHUB_RUN_ATTEMPT ?? '1'}:${env.GITHUB_JOB ?? ''}:${environment}`
  }
  if (env.GITLAB_CI === 'true' && env.CI_JOB_ID) return `gitlab:${env.CI_PROJECT_PATH ?? ''}:${env.CI_JOB_ID}:${environment}`
  return undefined
}

export interface Credential {
  kind: 'oidc' | 'broker-key'
  /** Where it came from, for messages (never the value). */
  source: string
  value: string
}

/**
 * Finds the caller's credential, in this order: an explicit `--oidc-env`
 * variable (GitLab `id_tokens`, or any CI that exposes one), GitHub Actions'
 * OIDC endpoint (needs `permissions: id-token: write`), then a broker key in
 * `--broker-key-env` (default BROKER_KEY).
 */
export async function findCredential(
  env: Env,
  options: { oidcEnv?: string; brokerKeyEnv?: string; audience: string; fetch?: typeof fetch },
): Promise<Credential> {
  if (options.oidcEnv) {
    const v = env[options.oidcEnv]?.trim()
    if (!v) throw new Error(`--oidc-env ${options.oidcEnv}: the variable is empty or not set (GitLab: declare it under id_tokens with aud: ${options.audience}).`)
    return { kind: 'oidc', source: options.oidcEnv, value: v }
  }
  if (env.ACTIONS_ID_TOKEN_REQUEST_URL && env.ACTIONS_ID_TOKEN_REQUEST_TOKEN) {
    const url = new URL(env.ACTIONS_ID_TOKEN_REQUEST_URL)
    url.searchParams.set('audience', options.audience)
    const res = await (options.fetch ?? fetch)(url, { headers: { authorization: `Bearer ${env.ACTIONS_ID_TOKEN_REQUEST_TOKEN}` } })
    if (!res.ok) throw new Error(`GitHub Actions OIDC token request failed with HTTP ${res.status} (does the job have permissions: id-token: write?).`)
    const body = (await res.json()) as { value?: unknown }
    if (typeof body.value !== 'string' || body.value === '') throw new Error('GitHub Actions OIDC token response had no value.')
    return { kind: 'oidc', source: 'GitHub Actions OIDC', value: body.value }
  }
  const keyEnv = options.brokerKeyEnv ?? 'BROKER_KEY'
  const key = env[keyEnv]?.trim()
  if (key) return { kind: 'broker-key', source: keyEnv, value: key }
  throw new Error(
    `No credential: set --oidc-env NAME (GitLab id_tokens), run in GitHub Actions with id-token: write, or put a broker key in ${keyEnv}.`,
  )
}
