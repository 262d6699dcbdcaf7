/**
 * Makes every HTTP/1 server in the bench process (local githosted, the fake
 * secrets service, the OIDC issuer) report how long it spent on a request:
 * `Server-Timing: upstream;dur=<ms>`, from the moment Node parsed the request
 * head to the moment the handler wrote the response head (injected latency
 * included). The Lambda child reads it (upstream-timer.ts) to count as
 * upstream only what the server and the loopback network took, so the client
 * work of a call counts as the caller's whichever HTTP client it uses.
 *
 * Only the bench's own servers are touched, through Node's
 * `http.server.request.start` channel; the code under test runs unchanged in
 * another process.
 */
import dc from 'node:diagnostics_channel'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { performance } from 'node:perf_hooks'

let installed = false

/** Idempotent: installs the channel subscriber once per process. */
export function installServerTiming(): void {
  if (installed) return
  installed = true
  dc.subscribe('http.server.request.start', (msg) => {
    const { response } = msg as { request: IncomingMessage; response: ServerResponse }
    const t0 = performance.now()
    const writeHead = response.writeHead
    // res.end() without an explicit writeHead goes through writeHead too (implicit header).
    response.writeHead = function (this: ServerResponse, ...args: unknown[]) {
      if (!this.headersSent) this.setHeader('server-timing', `upstream;dur=${(performance.now() - t0).toFixed(3)}`)
      return (writeHead as (...a: unknown[]) => ServerResponse).apply(this, args)
    } as ServerResponse['writeHead']
  })
}
