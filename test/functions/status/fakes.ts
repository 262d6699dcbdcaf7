/**
 * In-process doubles for the status app's unit tests: a client factory over
 * a FakeRepo, an authenticator that knows one key, and a viewer credential.
 */
import type { Authenticator, CallerIdentity } from '../../../functions/lib/auth/types.js'
import { AuthenticationError } from '../../../functions/lib/errors.js'
import type { GithostedClient, GithostedClientFactory } from '../../../functions/lib/githosted/types.js'
import { staticSecret } from '../../../functions/lib/secrets/index.js'
import { createViewerAccess, generateViewerCredential } from '../../../functions/lib/status/viewer-access.js'
import type { FakeRepo } from '../lib/status/fake-repo.js'

/** Too short to look like a real token to the log scan, but has the gr_ prefix. */
export const FAKE_READ_TOKEN = 'gr_fake'

export function fakeClientFactory(repos: Record<string, FakeRepo>): GithostedClientFactory & { tokens: string[] } {
  const tokens: string[] = []
  const factory = (token: string): GithostedClient => {
    tokens.push(token)
    const unused = () => Promise.reject(new Error('not used by the status app'))
    return {
      createToken: unused,
      exchangeToken: unused,
      revokeToken: unused,
      listTokens: unused,
      createRepo: unused,
      repo: (slug) => {
        const repo = repos[slug]
        if (!repo) throw new Error(`no fake repo ${slug}`)
        return repo
      },
    }
  }
  return Object.assign(factory, { tokens })
}

export const fakeAuthenticator: Authenticator = {
  async authenticate(header) {
    if (header !== 'Bearer test-key') throw new AuthenticationError('credential missing or not valid')
    const identity: CallerIdentity = {
      kind: 'broker-key',
      keyName: 'ci-test',
      subject: 'key:ci-test',
      claims: { keyName: 'ci-test' },
      credentialId: 'k1',
    }
    return identity
  },
}

export function fakeViewer(sessionTtlSeconds = 3600) {
  const { credential, sha256 } = generateViewerCredential()
  return { credential, viewer: createViewerAccess({ hash: staticSecret(sha256), sessionTtlSeconds }) }
}

export const readToken = (token = FAKE_READ_TOKEN) => staticSecret(token)
