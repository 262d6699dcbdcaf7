/**
 * Server profiles: the githosted variants the product must survive, so the
 * integration suite can run against each one (issue 12).
 *
 * - documented:    what docs.githosted.dev promises: reads return headSha/sha,
 *                  expectedHead is enforced, Log carries full messages.
 * - hosted-today:  what the SDK's v0.1.2 schema gives: no headSha, expectedHead
 *                  ignored, Log subjects only. Unknown JSON fields are dropped
 *                  (connect-go ≥ 1.9).
 * - strict-schema: the official schema only, and unknown JSON fields REJECTED
 *                  (protobuf-es fromJson's default, connect-go before 1.9).
 * - minimal:       strict-schema, plus the SDK's "planned" RPCs (DeleteFile,
 *                  ListBranches) unimplemented, plus HTTP/2 only (an HTTP/1.1
 *                  connection is reset, as an h2-only Go server does).
 */
export const PROFILE_NAMES = ['documented', 'hosted-today', 'strict-schema', 'minimal'] as const
export type ProfileName = (typeof PROFILE_NAMES)[number]

export interface ServerProfile {
  name: ProfileName
  /** Our extensions: headSha/sha on reads, expectedHead enforced, Commit.message in Log. */
  extensions: boolean
  /** Unknown JSON request fields (our extensions included) answer invalid_argument. */
  rejectUnknownFields: boolean
  /** RPC method names answering `unimplemented`. */
  unimplemented: ReadonlySet<string>
  /** Whether HTTP/1.1 connections are served (h2c is always served). */
  http1: boolean
}

const NONE: ReadonlySet<string> = new Set()

export const PROFILES: Readonly<Record<ProfileName, ServerProfile>> = {
  documented: { name: 'documented', extensions: true, rejectUnknownFields: false, unimplemented: NONE, http1: true },
  'hosted-today': { name: 'hosted-today', extensions: false, rejectUnknownFields: false, unimplemented: NONE, http1: true },
  'strict-schema': { name: 'strict-schema', extensions: false, rejectUnknownFields: true, unimplemented: NONE, http1: true },
  minimal: {
    name: 'minimal',
    extensions: false,
    rejectUnknownFields: true,
    unimplemented: new Set(['DeleteFile', 'ListBranches']),
    http1: false,
  },
}

export function isProfileName(value: string): value is ProfileName {
  return (PROFILE_NAMES as readonly string[]).includes(value)
}

/** The profile named `name`; throws a message listing the valid names otherwise. */
export function profileNamed(name: string): ServerProfile {
  if (!isProfileName(name)) {
    throw new Error(`unknown githosted profile ${JSON.stringify(name)} (one of: ${PROFILE_NAMES.join(', ')})`)
  }
  return PROFILES[name]
}

/** Request fields that exist only in our extended schema, per method (JSON names). */
export const EXTENSION_REQUEST_FIELDS: Readonly<Record<string, readonly string[]>> = {
  WriteFile: ['expectedHead', 'expected_head'],
  DeleteFile: ['expectedHead', 'expected_head'],
}
