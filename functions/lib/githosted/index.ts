/**
 * The githosted client: import from here, not from the modules behind it.
 */
export { Client, DEFAULT_BASE_URL, DEFAULT_CLIENT_NAME, DEFAULT_TIMEOUT_MS } from './client.js'
export type { ClientConfig } from './client.js'
export {
  GithostedError,
  NotFoundError,
  StaleHeadError,
  RepoBusyError,
  UnauthenticatedError,
  PermissionDeniedError,
  GithostedUnavailableError,
  GithostedTimeoutError,
  ExpectedHeadViolationError,
  ExpectedHeadUnverifiedError,
} from './errors.js'
export type { ConnectCode, StaleHeadInfo, ExpectedHeadViolationInfo } from './errors.js'
export { GithostedNetworkError } from './network-error.js'
export { gitBlobSha } from './blob-sha.js'
export type * from './types.js'
