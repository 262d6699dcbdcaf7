/**
 * HTTP-edge errors that have no domain meaning (size, method, upstream), kept
 * next to problem.ts so every function maps them the same way.
 */
import { AppError } from '../errors.js'

/** The request body is over the endpoint's limit (413). */
export class PayloadTooLargeError extends AppError {
  static override readonly code: string = 'PAYLOAD_TOO_LARGE'
  readonly status = 413
  constructor(readonly maxBytes: number) {
    super(`Request body is larger than ${maxBytes} bytes.`)
  }
  override details() {
    return { maxBytes: this.maxBytes }
  }
}

/** The path exists but not with this method (405); `allow` lists what does. */
export class MethodNotAllowedError extends AppError {
  static override readonly code: string = 'METHOD_NOT_ALLOWED'
  readonly status = 405
  constructor(
    readonly method: string,
    readonly allow: string[],
  ) {
    super(`${method} is not allowed here; use ${allow.join(', ')}.`)
  }
  override details() {
    return { allow: this.allow }
  }
}

/** The content type is not one this endpoint reads (415). */
export class UnsupportedMediaTypeError extends AppError {
  static override readonly code: string = 'UNSUPPORTED_MEDIA_TYPE'
  readonly status = 415
}

/**
 * githosted answered with an error we cannot turn into a caller fault (502).
 * Carries the Connect code only: the upstream message and body may echo
 * request data and are never shown.
 */
export class UpstreamError extends AppError {
  static override readonly code: string = 'UPSTREAM_FAILED'
  readonly status = 502
  constructor(
    readonly upstreamCode: string,
    action: string,
    options?: ErrorOptions,
  ) {
    super(`githosted failed to ${action} (${upstreamCode}).`, options)
  }
  override details() {
    return { upstreamCode: this.upstreamCode }
  }
}
