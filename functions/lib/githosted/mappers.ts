/**
 * Converts proto3 JSON messages (read through JsonReader) into the plain types
 * of types.ts, and our enums into their JSON names, so nothing outside this
 * folder sees wire shapes.
 */
import type {
  BranchJson,
  CommitJson,
  PermissionJson,
  RepoJson,
  TokenJson,
  TokenKindJson,
} from './gen/githosted/v1/types_pb.js'
import type { JsonReader } from './json-reader.js'
import type {
  BranchInfo,
  CommitInfo,
  Permission,
  RepoInfo,
  TokenKind,
  TokenRecord,
} from './types.js'

// Value names by number, as in types.proto.
const PERMISSIONS: readonly PermissionJson[] = [
  'PERMISSION_UNSPECIFIED',
  'PERMISSION_READ',
  'PERMISSION_WRITE',
]
const TOKEN_KINDS: readonly TokenKindJson[] = [
  'TOKEN_KIND_UNSPECIFIED',
  'TOKEN_KIND_WORKSPACE',
  'TOKEN_KIND_REPO',
]
const READ = 1
const REPO = 2

export function toPbPermission(p: Permission): PermissionJson {
  return p === 'read' ? 'PERMISSION_READ' : 'PERMISSION_WRITE'
}

export function toPbKind(k: TokenKind): TokenKindJson {
  return k === 'repo' ? 'TOKEN_KIND_REPO' : 'TOKEN_KIND_WORKSPACE'
}

/**
 * Unknown or unspecified permission reads as 'write' (as githosted's SDKs do):
 * when in doubt, assume the token can do more, never less.
 */
export function tokenRecord(t: JsonReader<TokenJson> | undefined): TokenRecord {
  return {
    id: t?.string('id') ?? '',
    prefix: t?.string('prefix') ?? '',
    name: t?.string('name') ?? '',
    kind: t?.enum('kind', TOKEN_KINDS) === REPO ? 'repo' : 'workspace',
    permission: t?.enum('permission', PERMISSIONS) === READ ? 'read' : 'write',
    repoAllowlist: t?.strings('repoAllowlist') ?? [],
    createdAt: t?.timestamp('createdAt'),
    expiresAt: t?.timestamp('expiresAt'),
    revokedAt: t?.timestamp('revokedAt'),
    lastUsedAt: t?.timestamp('lastUsedAt'),
  }
}

export function repoInfo(r: JsonReader<RepoJson> | undefined): RepoInfo {
  return {
    id: r?.string('id') ?? '',
    workspaceId: r?.string('workspaceId') ?? '',
    name: r?.string('name') ?? '',
    slug: r?.string('slug') ?? '',
    defaultBranch: r?.string('defaultBranch') ?? '',
    createdAt: r?.timestamp('createdAt'),
  }
}

export function commitInfo(c: JsonReader<CommitJson>): CommitInfo {
  const message = c.string('message')
  return {
    sha: c.string('hash'),
    authorName: c.string('authorName'),
    authorEmail: c.string('authorEmail'),
    committedAt: c.timestamp('committedAt'),
    subject: c.string('subject'),
    message: message === '' ? undefined : message,
  }
}

export function branchInfo(b: JsonReader<BranchJson>): BranchInfo {
  return { name: b.string('name'), commit: b.string('commit'), isDefault: b.bool('isDefault') }
}
