/**
 * A fetch wrapper that refuses bodies over a size cap, so a hostile or broken
 * issuer cannot make a Lambda buffer megabytes of "JWKS" (octo-sts caps
 * discovery at 100 KiB for the same reason).
 */

import { ResponseTooLargeError } from '../net/http-client.js'

/** Default cap for discovery documents and JWKS. */
export const MAX_METADATA_BYTES = 100 * 1024

export { ResponseTooLargeError } from '../net/http-client.js'

/** Returns a fetch that reads at most `maxBytes` of each body and re-wraps it. */
export function boundedFetch(fetchImpl: typeof fetch, maxBytes = MAX_METADATA_BYTES): typeof fetch {
  return async (input, init) => {
    const response = await fetchImpl(input, init)
    const declared = Number(response.headers.get('content-length') ?? '0')
    if (declared > maxBytes) {
      await response.body?.cancel().catch(() => {})
      throw new ResponseTooLargeError(maxBytes)
    }
    const chunks: Uint8Array[] = []
    let total = 0
    if (response.body) {
      const reader = response.body.getReader()
      for (;;) {
        const { done, value } = await reader.read()
        if (done) break
        total += value.byteLength
        if (total > maxBytes) {
          await reader.cancel().catch(() => {})
          throw new ResponseTooLargeError(maxBytes)
        }
        chunks.push(value)
      }
    }
    const body = Buffer.concat(chunks)
    return new Response(response.status === 204 || response.status === 304 ? null : body, {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
    })
  }
}
