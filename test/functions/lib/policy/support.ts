/** Caller identities for policy tests, with each CI platform's real claim shapes. */
import { presetFor, type IssuerConfig } from '../../../../functions/lib/auth/presets.js'
import type { CallerIdentity } from '../../../../functions/lib/auth/types.js'
import { buildClaims, type CiProvider } from '../../../../local/oidc/claims.js'

export const ISSUERS: Record<CiProvider, IssuerConfig> = {
  github: { name: 'github', preset: 'github', url: 'https://token.actions.githubusercontent.com' },
  gitlab: { name: 'gitlab', preset: 'gitlab', url: 'https://gitlab.com' },
  circleci: {
    name: 'circleci',
    preset: 'circleci',
    url: 'https://oidc.circleci.com/org/5e3f9b1c-7a2d-4c8e-9f10-2b4d6a8c0e12',
  },
  buildkite: { name: 'buildkite', preset: 'buildkite', url: 'https://agent.buildkite.com' },
}

/** The `issuers` section of a test policy naming the four real issuers. */
export const ISSUERS_SECTION = {
  github: { preset: 'github' },
  gitlab: { preset: 'gitlab' },
  circleci: { preset: 'circleci', url: ISSUERS.circleci.url },
  buildkite: { preset: 'buildkite' },
}

/** An identity as the authenticator would build it for a verified token. */
export function oidcIdentity(provider: CiProvider, overrides: Record<string, unknown> = {}): CallerIdentity {
  const issuer = ISSUERS[provider]
  const claims = { iss: issuer.url, aud: 'broker', ...buildClaims(provider, { iat: 1_900_000_000 }, overrides) }
  return {
    kind: 'oidc',
    issuer: issuer.url,
    provider,
    subject: presetFor(issuer).subject(claims, issuer),
    claims,
    credentialId: 'test',
  }
}

export function keyIdentity(name: string): CallerIdentity {
  return { kind: 'broker-key', keyName: name, subject: `key:${name}`, claims: { keyName: name }, credentialId: 'k' }
}
