/**
 * Reading a response body under a size cap, for every client stack: the
 * node:http exchange (http-client.ts), the githosted HTTP/2 transport, and
 * `fetch` responses (an injected fetch for OIDC metadata, the githosted fetch
 * transport). A body is refused as soon as it is known to be too large, by
 * its Content-Length before reading or by the bytes read so far, so a hostile
 * or broken server cannot make a Lambda buffer more than the cap.
 */

/** The server answered with a body larger than the caller accepts. */
export class ResponseTooLargeError extends Error {
  override name = 'ResponseTooLargeError'
  constructor(
    readonly limit: number,
    /** HTTP status of the answer, when one arrived. */
    readonly status?: number,
  ) {
    super(`response larger than ${limit} bytes`)
  }
}

/** Whether a Content-Length header says the body is over `limit` (absent or unreadable: not known to be). */
export function declaredOver(contentLength: string | null | undefined, limit: number): boolean {
  return Number(contentLength ?? Number.NaN) > limit
}

/** The chunks of one body as they arrive; `add` answers false once the body is over the cap (and keeps nothing more). */
export class CappedBody {
  private readonly chunks: Buffer[] = []
  private size = 0

  constructor(readonly limit: number) {}

  add(chunk: Buffer): boolean {
    this.size += chunk.length
    if (this.size > this.limit) return false
    this.chunks.push(chunk)
    return true
  }

  bytes(): Buffer {
    return this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.size)
  }
}

/** Reads a fetch Response's body whole; over `limit` bytes, cancels it and throws ResponseTooLargeError. */
export async function readCappedBody(response: Response, limit: number): Promise<Buffer> {
  // Defensive access: a test double may omit headers.
  if (declaredOver(response.headers?.get?.('content-length'), limit)) {
    await response.body?.cancel().catch(() => {})
    throw new ResponseTooLargeError(limit, response.status)
  }
  const body = new CappedBody(limit)
  if (response.body) {
    const reader = response.body.getReader()
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      if (!body.add(Buffer.from(value.buffer, value.byteOffset, value.byteLength))) {
        await reader.cancel().catch(() => {})
        throw new ResponseTooLargeError(limit, response.status)
      }
    }
  }
  return body.bytes()
}

/** A fetch whose responses carry bodies already read under `limit` (ResponseTooLargeError past it). */
export function cappedFetch(fetchImpl: typeof fetch, limit: number): typeof fetch {
  return async (input, init) => {
    const response = await fetchImpl(input, init)
    const body = await readCappedBody(response, limit)
    return new Response(response.status === 204 || response.status === 304 ? null : new Uint8Array(body), {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
    })
  }
}
