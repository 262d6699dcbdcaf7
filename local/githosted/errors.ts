import { Code, ConnectError } from '@connectrpc/connect'
import {
  RepoBusyDetailSchema,
  StaleHeadDetailSchema,
} from '../../functions/lib/githosted/gen/githosted/v1/errors_pb.js'

/** invalid_argument naming the offending field, so callers can fix their request. */
export function invalidArgument(field: string, problem: string): ConnectError {
  return new ConnectError(`${field}: ${problem}`, Code.InvalidArgument)
}

export function notFound(message: string): ConnectError {
  return new ConnectError(message, Code.NotFound)
}

export function unauthenticated(message: string): ConnectError {
  return new ConnectError(message, Code.Unauthenticated)
}

export function permissionDenied(message: string): ConnectError {
  return new ConnectError(message, Code.PermissionDenied)
}

export function failedPrecondition(message: string): ConnectError {
  return new ConnectError(message, Code.FailedPrecondition)
}

/** The lease error githosted's SDKs retry: `aborted` + RepoBusyDetail. */
export function repoBusy(repoId: string, operation: string): ConnectError {
  return new ConnectError(
    `repository ${repoId} is busy (${operation} in progress); retry with backoff`,
    Code.Aborted,
    undefined,
    [{ desc: RepoBusyDetailSchema, value: { repoId, operation } }],
  )
}

/** Optimistic-concurrency failure: `failed_precondition` + StaleHeadDetail. */
export function staleHead(detail: {
  repoId: string
  ref: string
  expectedHead: string
  actualHead: string
}): ConnectError {
  return new ConnectError(
    `stale head: ${detail.ref} is at ${detail.actualHead || '(no commits)'}, ` +
      `expected ${detail.expectedHead}`,
    Code.FailedPrecondition,
    undefined,
    [{ desc: StaleHeadDetailSchema, value: detail }],
  )
}
