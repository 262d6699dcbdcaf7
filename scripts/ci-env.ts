/**
 * What the CI scripts learn from the CI platform's environment: the run URL
 * (for commit trailers), a default idempotency key (so a retried step does
 * not deploy twice), and how to get an OIDC ID token.
 */
import { callJson, type Fetch } from '../cli/http.js'

export type Env = Record<string, string | undefined>

/** Who deployed, as commit trailers record it for a job that writes itself: the CI project. */
export function ciRequester(env: Env): string {
  if (env.GITHUB_REPOSITORY) return `github:${env.GITHUB_REPOSITORY}`
  if (env.CI_PROJECT_PATH) return `gitlab:${env.CI_PROJECT_PATH}`
  return 'ci-job'
}

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
  options: { oidcEnv?: string; brokerKeyEnv?: string; audience: string; fetch?: Fetch },
): Promise<Credential> {
  if (options.oidcEnv) {
    const v = env[options.oidcEnv]?.trim()
    if (!v) throw new Error(`--oidc-env ${options.oidcEnv}: the variable is empty or not set (GitLab: declare it under id_tokens with aud: ${options.audience}).`)
    return { kind: 'oidc', source: options.oidcEnv, value: v }
  }
  if (env.ACTIONS_ID_TOKEN_REQUEST_URL && env.ACTIONS_ID_TOKEN_REQUEST_TOKEN) {
    const value = await requestGithubIdToken(env.ACTIONS_ID_TOKEN_REQUEST_URL, env.ACTIONS_ID_TOKEN_REQUEST_TOKEN, options.audience, options.fetch)
    return { kind: 'oidc', source: 'GitHub Actions OIDC', value }
  }
  const keyEnv = options.brokerKeyEnv ?? 'BROKER_KEY'
  const key = env[keyEnv]?.trim()
  if (key) return { kind: 'broker-key', source: keyEnv, value: key }
  throw new Error(
    `No credential: set --oidc-env NAME (GitLab id_tokens), run in GitHub Actions with id-token: write, or put a broker key in ${keyEnv}.`,
  )
}

/** GitHub Actions' ID token endpoint: GET <request URL>&audience=AUD with the request token, answers {"value": JWT}. */
export async function requestGithubIdToken(requestUrl: string, requestToken: string, audience: string, fetchImpl?: Fetch): Promise<string> {
  const url = new URL(requestUrl)
  url.searchParams.set('audience', audience)
  let body: { value?: unknown }
  try {
    body = await callJson<{ value?: unknown }>(url.toString(), [200], { bearer: requestToken, ...(fetchImpl ? { fetch: fetchImpl } : {}) })
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err)
    throw new Error(`GitHub Actions OIDC token request failed (does the job have permissions: id-token: write?): ${why}`)
  }
  if (typeof body.value !== 'string' || body.value === '') throw new Error('GitHub Actions OIDC token response had no value.')
  return body.value
}
