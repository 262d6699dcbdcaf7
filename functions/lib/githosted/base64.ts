/**
 * Base64 for proto3 JSON `bytes` and Connect error detail values. We send the
 * canonical form (standard alphabet, padded) and accept what proto3 JSON
 * parsers must: standard or URL-safe alphabet, padded or not. Node's own
 * decoder silently skips characters it does not know, so the input is checked
 * first: a garbled value must fail loudly, not decode to different bytes.
 */

// Whole quads, then an optional 2- or 3-character tail with optional padding.
const BASE64 = /^(?:[A-Za-z0-9+/_-]{4})*(?:[A-Za-z0-9+/_-]{2}(?:==)?|[A-Za-z0-9+/_-]{3}=?)?$/

/** Standard alphabet with padding, as proto3 JSON prints bytes. */
export function encodeBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64')
}

/** Standard or URL-safe, padded or not; throws on anything else. */
export function decodeBase64(text: string): Uint8Array {
  if (!BASE64.test(text)) throw new Error('invalid base64')
  // Copied out of Buffer's shared pool: callers keep the bytes.
  return new Uint8Array(Buffer.from(text, 'base64'))
}
