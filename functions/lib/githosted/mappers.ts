/**
 * Converts generated protobuf messages into the plain types of types.ts, so
 * nothing outside this folder sees protobuf-es shapes.
 */
import { timestampDate, type Timestamp } from '@bufbuild/protobuf/wkt'
import {
  Permission as PbPermission,
  TokenKind as PbTokenKind,
  type Branch,
  type Commit,
  type Repo,
  type Token,
} from './gen/githosted/v1/types_pb.js'
import type {
  BranchInfo,
  CommitInfo,
  Permission,
  RepoInfo,
  TokenKind,
  TokenRecord,
} from './types.js'

function date(ts: Timestamp | undefined): Date | undefined {
  return ts ? timestampDate(ts) : undefined
}

export function toPbPermission(p: Permission): PbPermission {
  return p === 'read' ? PbPermission.READ : PbPermission.WRITE
}

export function toPbKind(k: TokenKind): PbTokenKind {
  return k === 'repo' ? PbTokenKind.REPO : PbTokenKind.WORKSPACE
}

/**
 * Unknown or unspecified permission reads as 'write' (as githosted's SDKs do):
 * when in doubt, assume the token can do more, never less.
 */
export function tokenRecord(t: Token | undefined): TokenRecord {
  return {
    id: t?.id ?? '',
    prefix: t?.prefix ?? '',
    name: t?.name ?? '',
    kind: t?.kind === PbTokenKind.REPO ? 'repo' : 'workspace',
    permission: t?.permission === PbPermission.READ ? 'read' : 'write',
    repoAllowlist: [...(t?.repoAllowlist ?? [])],
    createdAt: date(t?.createdAt),
    expiresAt: date(t?.expiresAt),
    revokedAt: date(t?.revokedAt),
    lastUsedAt: date(t?.lastUsedAt),
  }
}

export function repoInfo(r: Repo | undefined): RepoInfo {
  return {
    id: r?.id ?? '',
    workspaceId: r?.workspaceId ?? '',
    name: r?.name ?? '',
    slug: r?.slug ?? '',
    defaultBranch: r?.defaultBranch ?? '',
    createdAt: date(r?.createdAt),
  }
}

export function commitInfo(c: Commit): CommitInfo {
  return {
    sha: c.hash,
    authorName: c.authorName,
    authorEmail: c.authorEmail,
    committedAt: date(c.committedAt),
    subject: c.subject,
    message: c.message === '' ? undefined : c.message,
  }
}

export function branchInfo(b: Branch): BranchInfo {
  return { name: b.name, commit: b.commit, isDefault: b.isDefault }
}
