/**
 * Opening a pooled keep-alive connection before it is needed: one GET of `/`
 * on the origin, answer read and dropped. DynamoDB answers it with a health
 * line; another server with whatever it serves there (a 404 is as good: the
 * connection stays open for the calls that follow). No credential is sent.
 * It never rejects: a failed warm-up leaves the pool as it was, and the
 * first real call connects as it always did.
 */
import { exchange, type Pools } from './http-client.js'

/** A warm-up's answer is never used; a larger one is not worth reading. */
const MAX_WARM_UP_BODY_BYTES = 64 * 1024

export async function warmPool(pools: Pools, origin: URL, timeoutMs: number): Promise<void> {
  try {
    await exchange(
      { url: new URL('/', origin), method: 'GET', timeoutMs, maxBodyBytes: MAX_WARM_UP_BODY_BYTES, retryStaleSocket: false },
      pools,
    )
  } catch {
    // Nothing to undo: the exchange closed its socket, and the first real call opens its own.
  }
}
