/**
 * The checks on an issuer's URL that compiling a policy makes (load.ts), and
 * that an `issuerUrls` override applied to a policy compiled at build time
 * must make again (compiled.ts): one copy, so both refuse the same URLs with
 * the same words.
 */
import { isAcceptableJwksUri, isAcceptableMetadataUrl } from '../auth/jwks.js'
import type { IssuerConfig } from '../auth/presets.js'

/** The first problem with `url` as the issuer's URL, as `<field>: <why>`, or undefined. */
export function issuerUrlProblem(issuer: Pick<IssuerConfig, 'preset' | 'jwksUri'>, url: string): string | undefined {
  if (!isAcceptableMetadataUrl(url)) return 'url: must be https (http only on 127.0.0.1/localhost)'
  if (issuer.preset === 'circleci' && !/\/org\/[^/]+$/.test(new URL(url).pathname)) {
    return 'url: CircleCI issuers are per organization: https://oidc.circleci.com/org/<org-id>'
  }
  if (issuer.jwksUri !== undefined && !isAcceptableJwksUri(issuer.jwksUri, url)) {
    return 'jwksUri: must be https (http only for a local issuer)'
  }
  return undefined
}
