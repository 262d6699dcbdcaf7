/**
 * Shared bits for the auth tests: issuer configs for a running local issuer,
 * a fetch that counts, and an assertion that a promise fails with a given
 * code and a message free of credentials.
 */
import { expect } from 'vitest'
import type { IssuerConfig } from '../../../../functions/lib/auth/presets.js'
import { AppError } from '../../../../functions/lib/errors.js'
import type { LocalOidcIssuer } from '../../../../local/oidc/index.js'
import { findSecrets } from '../../../setup/secret-patterns.js'

export const AUDIENCE = 'https://broker.test'

/** The four local issuers as the policy would configure them. */
export function issuerConfigs(issuer: LocalOidcIssuer): IssuerConfig[] {
  return [
    { name: 'local-github', preset: 'github', url: issuer.issuers.github, serverUrl: 'https://github.com' },
    { name: 'local-gitlab', preset: 'gitlab', url: issuer.issuers.gitlab, serverUrl: 'https://gitlab.com' },
    { name: 'local-circleci', preset: 'circleci', url: issuer.issuers.circleci },
    { name: 'local-buildkite', preset: 'buildkite', url: issuer.issuers.buildkite },
  ]
}

/** A real fetch that records every URL it was asked for. */
export function countingFetch(): { fetch: typeof fetch; urls: string[] } {
  const urls: string[] = []
  return {
    urls,
    fetch: (input, init) => {
      urls.push(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url)
      return fetch(input, init)
    },
  }
}

/** Awaits a rejection, checks its code, and that the message carries no secret. */
export async function expectFailure(promise: Promise<unknown>, code: string, secret?: string): Promise<AppError> {
  let caught: unknown
  try {
    await promise
  } catch (err) {
    caught = err
  }
  expect(caught, `expected a failure with ${code}`).toBeInstanceOf(AppError)
  const err = caught as AppError
  expect(err.code).toBe(code)
  expect(findSecrets(err.message)).toEqual([])
  if (secret) expect(err.message.includes(secret)).toBe(false)
  return err
}
