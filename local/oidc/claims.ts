/**
 * ID token claims shaped like each CI platform's real ones (GitHub Actions,
 * GitLab `id_tokens`, CircleCI, Buildkite), for a job of repository
 * `acme/app` on `refs/heads/main`. Overrides replace claims (`undefined`
 * removes one); `sub` is derived from the other claims unless overridden,
 * the way each platform builds it.
 */
import { randomUUID } from 'node:crypto'

export type CiProvider = 'github' | 'gitlab' | 'circleci' | 'buildkite'

export const CI_PROVIDERS: readonly CiProvider[] = ['github', 'gitlab', 'circleci', 'buildkite']

export const LOCAL_CIRCLECI_ORG_ID = '5e3f9b1c-7a2d-4c8e-9f10-2b4d6a8c0e12'
export const LOCAL_CIRCLECI_PROJECT_ID = '8d1c4a7e-3b2f-4e6d-a915-7c0b2e4f6a83'

const SHA = '3f786850e387550fdab836ed7e6dc881de23001b'

type Claims = Record<string, unknown>

interface Shape {
  /** Claims apart from iss/aud/iat/exp/nbf, before overrides. */
  defaults(): Claims
  /** How the platform derives `sub` from the other claims. */
  sub(claims: Claims): string
  lifetimeSeconds: number
  /** nbf relative to iat (GitHub backdates it), or undefined for no nbf. */
  nbfOffsetSeconds: number | undefined
  hasJti: boolean
}

const runId = () => String(1_000_000 + Math.floor(Math.random() * 8_000_000))

const SHAPES: Record<CiProvider, Shape> = {
  github: {
    defaults: () => ({
      ref: 'refs/heads/main',
      sha: SHA,
      repository: 'acme/app',
      repository_owner: 'acme',
      repository_owner_id: '65',
      repository_id: '74',
      repository_visibility: 'private',
      run_id: runId(),
      run_number: '12',
      run_attempt: '1',
      actor: 'octocat',
      actor_id: '583231',
      workflow: 'Deploy',
      workflow_ref: 'acme/app/.github/workflows/deploy.yml@refs/heads/main',
      workflow_sha: SHA,
      job_workflow_ref: 'acme/app/.github/workflows/deploy.yml@refs/heads/main',
      job_workflow_sha: SHA,
      event_name: 'push',
      head_ref: '',
      base_ref: '',
      ref_type: 'branch',
      ref_protected: 'true',
      runner_environment: 'github-hosted',
    }),
    sub: (c) => {
      const repo = String(c.repository)
      if (typeof c.environment === 'string') return `repo:${repo}:environment:${c.environment}`
      if (c.event_name === 'pull_request') return `repo:${repo}:pull_request`
      return `repo:${repo}:ref:${String(c.ref)}`
    },
    lifetimeSeconds: 300,
    nbfOffsetSeconds: -600,
    hasJti: true,
  },
  gitlab: {
    defaults: () => ({
      namespace_id: '72',
      namespace_path: 'acme',
      project_id: '20',
      project_path: 'acme/app',
      user_id: '5',
      user_login: 'deployer',
      user_email: 'deployer@example.com',
      user_access_level: 'maintainer',
      pipeline_id: runId(),
      pipeline_source: 'push',
      job_id: runId(),
      ref: 'main',
      ref_type: 'branch',
      ref_path: 'refs/heads/main',
      ref_protected: 'true',
      runner_id: 1,
      runner_environment: 'gitlab-hosted',
      sha: SHA,
      project_visibility: 'private',
      ci_config_ref_uri: 'gitlab.com/acme/app//.gitlab-ci.yml@refs/heads/main',
      ci_config_sha: SHA,
    }),
    sub: (c) => `project_path:${String(c.project_path)}:ref_type:${String(c.ref_type)}:ref:${String(c.ref)}`,
    lifetimeSeconds: 300,
    nbfOffsetSeconds: -5,
    hasJti: true,
  },
  circleci: {
    defaults: () => ({
      'oidc.circleci.com/project-id': LOCAL_CIRCLECI_PROJECT_ID,
      'oidc.circleci.com/vcs-origin': 'github.com/acme/app',
      'oidc.circleci.com/vcs-ref': 'refs/heads/main',
      'oidc.circleci.com/context-ids': ['0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d'],
      'oidc.circleci.com/ssh-rerun': false,
    }),
    sub: (c) =>
      `org/${LOCAL_CIRCLECI_ORG_ID}/project/${String(c['oidc.circleci.com/project-id'])}` +
      `/user/0c4a5f7e-1d2b-4c3a-9e8f-6b5a4d3c2b1a`,
    lifetimeSeconds: 3600,
    nbfOffsetSeconds: undefined,
    hasJti: false,
  },
  buildkite: {
    defaults: () => ({
      organization_slug: 'acme',
      pipeline_slug: 'app',
      build_number: 42,
      build_branch: 'main',
      build_commit: SHA,
      step_key: 'deploy',
      job_id: randomUUID(),
      agent_id: randomUUID(),
      runner_environment: 'self-hosted',
      build_source: 'webhook',
    }),
    sub: (c) => {
      const ref =
        typeof c.build_tag === 'string' ? `refs/tags/${c.build_tag}` : `refs/heads/${String(c.build_branch)}`
      return (
        `organization:${String(c.organization_slug)}:pipeline:${String(c.pipeline_slug)}` +
        `:ref:${ref}:commit:${String(c.build_commit)}:step:${String(c.step_key)}`
      )
    },
    lifetimeSeconds: 300,
    nbfOffsetSeconds: 0,
    hasJti: false,
  },
}

export interface ClaimTimes {
  iat: number
  lifetimeSeconds?: number
}

/** The full claim set of a token, minus `iss` and `aud`. */
export function buildClaims(provider: CiProvider, times: ClaimTimes, overrides: Claims = {}): Claims {
  const shape = SHAPES[provider]
  const claims: Claims = { ...shape.defaults() }
  if (shape.hasJti) claims.jti = randomUUID()
  for (const [k, v] of Object.entries(overrides)) {
    if (v === undefined) delete claims[k]
    else claims[k] = v
  }
  if (!('sub' in overrides)) claims.sub = shape.sub(claims)
  const lifetime = times.lifetimeSeconds ?? shape.lifetimeSeconds
  if (!('iat' in overrides)) claims.iat = times.iat
  if (!('exp' in overrides)) claims.exp = times.iat + lifetime
  if (!('nbf' in overrides) && shape.nbfOffsetSeconds !== undefined) claims.nbf = times.iat + shape.nbfOffsetSeconds
  return claims
}
