/**
 * Makes every HTTP/1 server in the bench process (local githosted, the fake
 * secrets service, the OIDC issuer, the state table) report how long it
 * spent on a request, and when: `Server-Timing: upstream;dur=<ms>,
 * upstream-span;desc="<start>-<end>"`, from the moment Node parsed the
 * request head to the moment the handler wrote the response head (injected
 * latency included). `start` and `end` are `process.hrtime` nanoseconds, a
 * clock every process on the machine shares (CLOCK_MONOTONIC), so the Lambda
 * child places the server's work on its own timeline exactly
 * (upstream-timer.ts) and counts as upstream only what the servers and the
 * loopback network took, whichever HTTP client made the call.
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
    const h0 = process.hrtime.bigint()
    const writeHead = response.writeHead
    // res.end() without an explicit writeHead goes through writeHead too (implicit header).
    response.writeHead = function (this: ServerResponse, ...args: unknown[]) {
      if (!this.headersSent) {
        const span = `${h0}-${process.hrtime.bigint()}`
        this.setHeader('server-timing', `upstream;dur=${(performance.now() - t0).toFixed(3)}, upstream-span;desc="${span}"`)
      }
      return (writeHead as (...a: unknown[]) => ServerResponse).apply(this, args)
    } as ServerResponse['writeHead']
  })
}
