import { AppError } from '../errors.js'

/**
 * Whether an error from the githosted client means "no such repo, ref or
 * path". The client maps githosted's `not_found` to an AppError with status
 * 404; anything else carrying `code: 'not_found'` (a raw Connect error) counts too.
 */
export function isNotFound(err: unknown): boolean {
  if (err instanceof AppError) return err.status === 404
  if (err && typeof err === 'object') {
    const code = (err as { code?: unknown }).code
    return code === 'not_found' || code === 5
  }
  return false
}
