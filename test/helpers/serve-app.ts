/**
 * Serves a fetch-style app (Hono's `app.fetch`) over real HTTP on
 * 127.0.0.1 with an ephemeral port, so end-to-end tests go through a real
 * socket, real headers and real body streaming, as curl would.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Readable } from 'node:stream'

export type FetchApp = (request: Request, env?: Record<string, unknown>) => Response | Promise<Response>

export interface ServedApp {
  url: string
  close(): Promise<void>
}

/** Starts the server; `env` bindings get the peer address as `remoteAddress`. */
export async function serveApp(fetchApp: FetchApp): Promise<ServedApp> {
  const server = createServer((req, res) => {
    handle(fetchApp, req, res).catch((err: unknown) => {
      // A bug in the adapter, not in the app: answer something rather than hang.
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' })
      res.end(`adapter error: ${err instanceof Error ? err.name : 'unknown'}\n`)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections()
        server.close((err) => (err ? reject(err) : resolve()))
      }),
  }
}

async function handle(fetchApp: FetchApp, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = `http://${req.headers.host ?? '127.0.0.1'}${req.url ?? '/'}`
  const headers = new Headers()
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue
    for (const v of Array.isArray(value) ? value : [value]) headers.append(name, v)
  }
  const hasBody = req.method !== 'GET' && req.method !== 'HEAD'
  const request = new Request(url, {
    method: req.method ?? 'GET',
    headers,
    body: hasBody ? (Readable.toWeb(req) as ReadableStream<Uint8Array>) : undefined,
    // Required by undici for streamed request bodies.
    ...(hasBody ? { duplex: 'half' } : {}),
  } as RequestInit)
  const response = await fetchApp(request, { remoteAddress: req.socket.remoteAddress })
  const outHeaders: Record<string, string | string[]> = {}
  response.headers.forEach((value, name) => {
    if (name === 'set-cookie') return
    outHeaders[name] = value
  })
  const cookies = response.headers.getSetCookie()
  if (cookies.length > 0) outHeaders['set-cookie'] = cookies
  res.writeHead(response.status, outHeaders)
  if (!response.body) {
    res.end()
    return
  }
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) res.write(chunk)
  res.end()
}
