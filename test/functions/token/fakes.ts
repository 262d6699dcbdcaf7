/**
 * Fakes implementing the contracts (githosted client, authenticator, policy)
 * for the token app's unit tests. Tokens are random at run time and never
 * printed.
 */
import { randomBytes } from 'node:crypto'
import type { AuthPurpose, Authenticator, CallerIdentity } from '../../../functions/lib/auth/types.js'
import { ReplayStoreUnavailableError } from '../../../functions/lib/auth/errors.js'
import { AuthenticationError } from '../../../functions/lib/errors.js'
import { githostedError, type ConnectCode, type GithostedError } from '../../../functions/lib/githosted/errors.js'
import type {
  CreateTokenInput,
  ExchangeTokenInput,
  GithostedClient,
  GithostedClientFactory,
  TokenRecord,
} from '../../../functions/lib/githosted/types.js'
import type { Decision, Grant, MintRequest, Policy } from '../../../functions/lib/policy/types.js'

/** What the real client throws for a Connect error with this code. */
function upstreamError(connectCode: ConnectCode, procedure: string): GithostedError {
  return githostedError(`fake ${connectCode} (upstream body that must never reach a caller)`, { connectCode, procedure: `fake ${procedure}` })
}

export interface FakeGithosted {
  factory: GithostedClientFactory
  workspaceTokens: Set<string>
  records: Map<string, TokenRecord & { secret: string; subject?: string }>
  calls: string[]
  exchangeUnimplemented: boolean
  failNext?: ConnectCode
}

/** A minimal githosted control plane: validates the workspace token, records issued tokens. */
export function fakeGithosted(validWorkspaceToken: string): FakeGithosted {
  const state: FakeGithosted = {
    workspaceTokens: new Set([validWorkspaceToken]),
    records: new Map(),
    calls: [],
    exchangeUnimplemented: false,
    factory: (token) => client(token),
  }
  let n = 0
  const issue = (input: { permission?: 'read' | 'write'; repoAllowlist?: string[]; name: string }, ttlSeconds: number) => {
    const secret = `gr_${randomBytes(24).toString('base64url')}`
    const record: TokenRecord = {
      id: `tok_${++n}`,
      prefix: 'gr',
      name: input.name,
      kind: 'repo',
      permission: input.permission ?? 'read',
      repoAllowlist: input.repoAllowlist ?? [],
      createdAt: new Date(),
      expiresAt: new Date(Date.now() + ttlSeconds * 1000),
    }
    state.records.set(record.id, { ...record, secret })
    return { token: secret, record }
  }
  const client = (token: string): GithostedClient => {
    const check = (op: string) => {
      state.calls.push(op)
      if (state.failNext) {
        const code = state.failNext
        state.failNext = undefined
        throw upstreamError(code, op)
      }
      if (!state.workspaceTokens.has(token)) throw upstreamError('unauthenticated', op)
    }
    const unsupported = () => {
      throw new Error('not used by the token app')
    }
    return {
      async exchangeToken(input: ExchangeTokenInput) {
        check('exchange')
        if (state.exchangeUnimplemented) throw upstreamError('unimplemented', 'exchange')
        const issued = issue({ ...input, name: '' }, input.ttlSeconds || 3600)
        state.records.get(issued.record.id)!.subject = input.subject
        return issued
      },
      async createToken(input: CreateTokenInput) {
        check('create')
        return issue(input, (input.ttlHours ?? 0) * 3600)
      },
      async revokeToken(id: string) {
        check('revoke')
        const r = state.records.get(id)
        if (!r) throw upstreamError('not_found', 'revoke')
        r.revokedAt = new Date()
      },
      async listTokens() {
        check('list')
        return { tokens: [...state.records.values()] }
      },
      createRepo: unsupported,
      repo: unsupported,
    }
  }
  return state
}

/**
 * Bearer values -> identities; OIDC ones are single use for 'mint' until
 * released, as the real authenticator. `failRelease` makes releases reject.
 */
export function fakeAuthenticator(identities: Record<string, CallerIdentity>) {
  const consumed = new Set<string>()
  const released: string[] = []
  const purposes: AuthPurpose[] = []
  const claims = new WeakMap<CallerIdentity, string>()
  const state = { failRelease: false }
  const authenticator: Authenticator = {
    async authenticate(authorization, purpose, options) {
      purposes.push(purpose)
      const m = /^Bearer (\S+)$/.exec(authorization ?? '')
      if (!m) throw new AuthenticationError('Missing bearer credential.')
      const identity = identities[m[1]!]
      if (!identity) throw new AuthenticationError('Unknown credential.')
      if (identity.kind === 'oidc' && purpose === 'mint') {
        if (consumed.has(m[1]!)) throw new AuthenticationError('Token already used (replay).')
        consumed.add(m[1]!)
        const copy = { ...identity }
        try {
          await options?.alongside?.(copy)
        } catch (err) {
          // As the real authenticator: a failed check gives the single use back.
          consumed.delete(m[1]!)
          released.push(m[1]!)
          throw err
        }
        claims.set(copy, m[1]!)
        return copy
      }
      await options?.alongside?.(identity)
      return identity
    },
    async releaseMint(identity) {
      const bearer = claims.get(identity)
      if (bearer === undefined) return
      claims.delete(identity)
      if (state.failRelease) throw new ReplayStoreUnavailableError('fake replay store is down')
      consumed.delete(bearer)
      released.push(bearer)
    },
  }
  return { authenticator, purposes, consumed, released, state }
}

export interface FakeRule {
  name: string
  subject: string
  grant: Partial<Grant> & { repos: string[] }
}

/** Rules match on the identity's subject; repos and permission are checked as the real policy would. */
export function fakePolicy(rules: FakeRule[]): Policy {
  const authorizeMint = (identity: CallerIdentity, request: MintRequest): Decision => {
    const trace: Decision['trace'] = []
    for (const rule of rules) {
      const grant: Grant = {
        permission: 'write',
        maxTtlSeconds: 3600,
        environments: [],
        overrideHolds: false,
        promote: [],
        ...rule.grant,
      }
      if (rule.subject !== identity.subject) {
        trace.push({ rule: rule.name, matched: false, reason: `subject is ${identity.subject}, not ${rule.subject}` })
        continue
      }
      const outside = request.repos.find((r) => !grant.repos.includes(r))
      if (outside) {
        trace.push({ rule: rule.name, matched: false, identified: true, reason: `repo ${outside} is not granted` })
        continue
      }
      if (request.permission === 'write' && grant.permission === 'read') {
        trace.push({ rule: rule.name, matched: false, identified: true, reason: 'write requested, rule grants read' })
        continue
      }
      trace.push({ rule: rule.name, matched: true, identified: true })
      return { allowed: true, identified: true, rule: rule.name, grant, reason: `allowed by rule ${rule.name}`, trace }
    }
    const identified = trace.some((t) => t.identified)
    return { allowed: false, identified, reason: identified ? `no rule allows this: ${trace.filter((t) => t.identified).map((t) => t.reason).join('; ')}` : 'denied: no policy rule applies to this caller', trace }
  }
  const deny = (): Decision => ({ allowed: false, identified: false, reason: 'not used', trace: [] })
  return { authorizeMint, authorizeDeploy: deny, authorizeRead: deny, authorizePromote: deny }
}

export function keyIdentity(name: string): CallerIdentity {
  return { kind: 'broker-key', keyName: name, subject: `key:${name}`, claims: { keyName: name }, credentialId: `h-${name}` }
}

export function oidcIdentity(repository: string, run: string): CallerIdentity {
  return {
    kind: 'oidc',
    issuer: 'https://token.actions.githubusercontent.com',
    provider: 'github',
    subject: `github:${repository}:run:${run}`,
    claims: { repository, ref: 'refs/heads/main', run_id: run, aud: 'broker' },
    credentialId: `jti-${randomBytes(4).toString('hex')}`,
  }
}
