import type { ConnectRouter, HandlerContext } from '@connectrpc/connect'
import type { MessageInitShape } from '@bufbuild/protobuf'
import { timestampFromDate } from '@bufbuild/protobuf/wkt'
import { ApiService } from '../../functions/lib/githosted/gen/githosted/v1/api_pb.js'
import {
  Permission,
  TokenKind,
  type TokenSchema,
} from '../../functions/lib/githosted/gen/githosted/v1/types_pb.js'
import type { Backend } from './backend.js'
import { invalidArgument, notFound, permissionDenied } from './errors.js'
import { paginate } from './pagination.js'
import { repoMessage } from './repo-service.js'
import type { PermissionName, StoredToken } from './state.js'

const ONE_HOUR_S = 3600
const MAX_EXCHANGE_TTL_S = 24 * 3600
const MAX_ALLOWLIST = 100

/** A token record on the wire: never the secret, never the digest or the audit subject. */
export function tokenMessage(t: StoredToken): MessageInitShape<typeof TokenSchema> {
  const ts = (iso: string | undefined) => (iso ? timestampFromDate(new Date(iso)) : undefined)
  return {
    id: t.id,
    prefix: t.kind === 'workspace' ? 'gw' : 'gr',
    name: t.name,
    kind: t.kind === 'workspace' ? TokenKind.WORKSPACE : TokenKind.REPO,
    organizationId: t.organizationId,
    workspaceId: t.workspaceId,
    permission: t.permission === 'write' ? Permission.WRITE : Permission.READ,
    repoAllowlist: t.repoAllowlist,
    createdAt: ts(t.createdAt),
    expiresAt: ts(t.expiresAt),
    revokedAt: ts(t.revokedAt),
    lastUsedAt: ts(t.lastUsedAt),
    createdByName: t.createdByName ?? '',
    createdByTokenPrefix: t.createdByTokenPrefix ?? '',
  }
}

function permissionName(field: string, p: Permission, fallback?: PermissionName): PermissionName {
  if (p === Permission.READ) return 'read'
  if (p === Permission.WRITE) return 'write'
  if (p === Permission.UNSPECIFIED && fallback) return fallback
  throw invalidArgument(field, 'must be PERMISSION_READ or PERMISSION_WRITE')
}

function checkAllowlist(list: string[]): string[] {
  if (list.length > MAX_ALLOWLIST) throw invalidArgument('repoAllowlist', `at most ${MAX_ALLOWLIST} entries`)
  for (const entry of list) {
    if (entry === '' || entry.length > 200 || /\s/.test(entry)) {
      const shown = JSON.stringify(entry.slice(0, 80))
      throw invalidArgument('repoAllowlist', `entries must be repo slugs or rp_ ids, got ${shown}`)
    }
  }
  return list
}

function auth(backend: Backend, ctx: HandlerContext, what: string): StoredToken {
  const token = backend.authenticate(ctx.requestHeader.get('authorization'))
  backend.requireWorkspaceWriter(token, what)
  return token
}

/** Registers githosted.v1.ApiService (the control-plane subset: tokens and repo listing). */
export function registerApiService(router: ConnectRouter, backend: Backend): void {
  router.service(ApiService, {
    async createToken(req, ctx) {
      const caller = auth(backend, ctx, 'CreateToken')
      backend.checkWorkspaceRef(caller, req.workspaceRef)
      const name = req.name.trim()
      if (name === '') throw invalidArgument('name', 'must not be empty')
      if (name.length > 100) throw invalidArgument('name', 'longer than 100 characters')
      if (req.kind !== TokenKind.WORKSPACE && req.kind !== TokenKind.REPO) {
        throw invalidArgument('kind', 'must be TOKEN_KIND_WORKSPACE or TOKEN_KIND_REPO')
      }
      const kind = req.kind === TokenKind.WORKSPACE ? 'workspace' : 'repo'
      const permission = permissionName('permission', req.permission)
      const allowlist = checkAllowlist(req.repoAllowlist)
      if (kind === 'repo' && allowlist.length === 0) {
        throw invalidArgument('repoAllowlist', 'must not be empty for a repo token')
      }
      if (kind === 'workspace' && allowlist.length > 0) {
        throw invalidArgument('repoAllowlist', 'only applies to repo tokens')
      }
      const { secret, record } = backend.tokens.mint({
        kind,
        permission,
        name,
        workspace: backend.state.workspace,
        repoAllowlist: allowlist,
        ...(req.ttlHours > 0 ? { ttlMs: req.ttlHours * 3_600_000 } : {}),
        createdByName: caller.name,
        createdByTokenPrefix: 'gw',
      })
      await backend.save()
      return { token: secret, record: tokenMessage(record) }
    },

    async exchangeToken(req, ctx) {
      const parent = auth(backend, ctx, 'ExchangeToken')
      const allowlist = checkAllowlist(req.repoAllowlist)
      if (allowlist.length === 0) throw invalidArgument('repoAllowlist', 'must not be empty')
      const permission = permissionName('permission', req.permission, 'read')
      if (permission === 'write' && parent.permission !== 'write') {
        throw permissionDenied('cannot mint a token more privileged than the parent')
      }
      const ttl = Math.min(req.ttlSeconds || ONE_HOUR_S, MAX_EXCHANGE_TTL_S)
      const { secret, record } = backend.tokens.mint({
        kind: 'repo',
        permission,
        name: 'exchanged',
        workspace: backend.state.workspace,
        repoAllowlist: allowlist,
        ttlMs: ttl * 1000,
        // Never outlive the parent either.
        ...(parent.expiresAt ? { notAfter: new Date(parent.expiresAt) } : {}),
        createdByName: parent.name,
        createdByTokenPrefix: 'gw',
        ...(req.subject ? { subject: req.subject.slice(0, 200) } : {}),
        parentTokenId: parent.id,
      })
      await backend.save()
      return { token: secret, record: tokenMessage(record) }
    },

    async listTokens(req, ctx) {
      const caller = auth(backend, ctx, 'ListTokens')
      backend.checkWorkspaceRef(caller, req.workspaceRef)
      const { page, next } = paginate(backend.tokens.list(caller.workspaceId), req.pageSize, req.pageToken)
      return { tokens: page.map(tokenMessage), nextPageToken: next }
    },

    async revokeToken(req, ctx) {
      const caller = auth(backend, ctx, 'RevokeToken')
      backend.checkWorkspaceRef(caller, req.workspaceRef)
      if (req.tokenId === '') throw invalidArgument('tokenId', 'must not be empty')
      const target = backend.tokens.byId(req.tokenId)
      if (!target || target.workspaceId !== caller.workspaceId) {
        throw notFound(`token ${JSON.stringify(req.tokenId.slice(0, 80))} not found`)
      }
      if (!target.revokedAt) {
        target.revokedAt = backend.now().toISOString()
        await backend.save()
      }
      return {}
    },

    async listRepos(req, ctx) {
      const caller = backend.authenticate(ctx.requestHeader.get('authorization'))
      if (caller.kind !== 'workspace') throw permissionDenied('ListRepos needs a workspace (gw_) token')
      backend.checkWorkspaceRef(caller, req.workspaceRef)
      const repos = backend.state.repos.filter((r) => r.workspaceId === caller.workspaceId)
      const { page, next } = paginate(repos, req.pageSize, req.pageToken)
      return { repos: page.map(repoMessage), nextPageToken: next }
    },
  })
}
