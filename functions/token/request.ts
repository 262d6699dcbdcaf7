/**
 * Validation of token requests. Two wire forms, one result: the seed-compatible
 * `/ci/token` body (`{"repo": "...", "ttl": "1h"}`, permission default write)
 * and the JSON API body of `/v1/tokens` (`repos`/`repo`, `permission`,
 * `ttl`/`ttlSeconds`). Unknown fields are rejected so a typo such as
 * `permision` cannot silently fall back to a default.
 */
import { ValidationError } from '../lib/errors.js'
import type { Permission } from '../lib/githosted/types.js'
import { rejectUnknownFields } from '../lib/edge/body.js'
import { checkSeconds, parseRequestDuration as parseDuration } from '../lib/duration.js'
import type { MintRequest } from '../lib/policy/types.js'
import { isRepoRef, REPO_REF_RULE } from '../lib/repo-ref.js'
import { MAX_TOKEN_TTL_SECONDS } from '../lib/githosted/limits.js'

export const DEFAULT_TTL_SECONDS = 3600
export const MAX_REPOS = 20

const FIELDS = ['repo', 'repos', 'ttl', 'ttlSeconds', 'permission'] as const

/** Parses the `/ci/token` body; defaults: permission write, ttl 1h. */
export function parseCiTokenRequest(fields: Record<string, unknown>): MintRequest {
  rejectUnknownFields(fields, FIELDS)
  return {
    repos: parseRepos(fields, true),
    permission: parsePermission(fields.permission, 'write'),
    ttlSeconds: parseTtl(fields),
  }
}

/** Parses the `/v1/tokens` body; defaults: permission read (least privilege), ttl 1h. */
export function parseApiTokenRequest(fields: Record<string, unknown>): MintRequest {
  rejectUnknownFields(fields, FIELDS)
  return {
    repos: parseRepos(fields),
    permission: parsePermission(fields.permission, 'read'),
    ttlSeconds: parseTtl(fields),
  }
}

function parseRepos(fields: Record<string, unknown>, allowList = false): string[] {
  if (fields.repo !== undefined && fields.repos !== undefined) {
    throw new ValidationError('Give either repo or repos, not both.', 'repos')
  }
  if (fields.repo !== undefined) return [checkRepo(fields.repo, 'repo')]
  if (fields.repos === undefined) {
    throw new ValidationError('repo is required (a repo slug such as "deploy-configs").', 'repo')
  }
  // A /ci/token form body can only give a comma-separated string; JSON gives an array.
  const list =
    allowList && typeof fields.repos === 'string' ? fields.repos.split(',').map((s) => s.trim()) : fields.repos
  if (!Array.isArray(list) || list.length === 0) {
    throw new ValidationError('repos must be a non-empty array of repo slugs.', 'repos')
  }
  if (list.length > MAX_REPOS) throw new ValidationError(`repos may list at most ${MAX_REPOS} repos.`, 'repos')
  const repos = list.map((r, i) => checkRepo(r, `repos[${i}]`))
  return [...new Set(repos)]
}

function checkRepo(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new ValidationError(`${field} must be a repo slug such as "deploy-configs".`, field)
  }
  if (isRepoRef(value)) return value
  const shown = value.length > 40 ? `${value.slice(0, 40)}…` : value
  throw new ValidationError(
    `${field} "${shown}" is not ${REPO_REF_RULE}.`,
    field,
  )
}

function parsePermission(value: unknown, fallback: Permission): Permission {
  if (value === undefined) return fallback
  if (value === 'read' || value === 'write') return value
  throw new ValidationError('permission must be "read" or "write".', 'permission')
}

function parseTtl(fields: Record<string, unknown>): number {
  const limits = { maxSeconds: MAX_TOKEN_TTL_SECONDS }
  if (fields.ttl !== undefined && fields.ttlSeconds !== undefined) {
    throw new ValidationError('Give either ttl or ttlSeconds, not both.', 'ttl')
  }
  if (fields.ttlSeconds !== undefined) {
    // Form bodies carry numbers as strings.
    const raw = fields.ttlSeconds
    const n = typeof raw === 'string' && /^-?\d+$/.test(raw) ? Number(raw) : raw
    return checkSeconds(n, 'ttlSeconds', limits)
  }
  if (fields.ttl === undefined) return DEFAULT_TTL_SECONDS
  return parseDuration(fields.ttl, 'ttl', limits)
}
