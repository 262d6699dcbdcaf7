/** What both halves of a repo handle (repo.ts, repo-write.ts) call through. */
import type { Procedure, RequestJson } from './procedures.js'
import type { CallSafety } from './retry.js'
import type { Decode } from './unary-call.js'

/** A retried, typed unary call (bound to one client's config). */
export type Rpc = <P extends Procedure, R>(
  procedure: P,
  input: RequestJson<P>,
  decode: Decode<P, R>,
  safety: CallSafety,
) => Promise<R>

export type VerifyMode = 'auto' | 'always' | 'never'

export const LOG = '/githosted.v1.RepoService/Log'
