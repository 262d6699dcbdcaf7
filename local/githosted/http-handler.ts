import type * as http from 'node:http'
import type * as http2 from 'node:http2'
import { Code, ConnectError, type ConnectRouter, type Interceptor } from '@connectrpc/connect'
import { connectNodeAdapter } from '@connectrpc/connect-node'
import { ApiService } from '../../functions/lib/githosted/gen/githosted/v1/api_pb.js'
import { RepoService } from '../../functions/lib/githosted/gen/githosted/v1/repo_pb.js'
import { registerApiService } from './api-service.js'
import type { Backend } from './backend.js'
import { registerRepoService } from './repo-service.js'

type Req = http.IncomingMessage | http2.Http2ServerRequest
type Res = http.ServerResponse | http2.Http2ServerResponse

/** Request bodies above this are refused (resource_exhausted) before parsing. */
export const READ_MAX_BYTES = 1024 * 1024

const PROCEDURES = new Set(
  [RepoService, ApiService].flatMap((s) => s.methods.map((m) => `/${s.typeName}/${m.name}`)),
)

function sendJsonError(res: unknown, status: number, code: string, message: string): void {
  const body = JSON.stringify({ code, message })
  const r = res as http.ServerResponse
  r.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) })
  r.end(body)
}

/**
 * Fault injection, then the handler; unexpected (non-Connect) errors become a
 * bare `internal` so no stack or disk path reaches the client.
 */
function faultsAndErrors(backend: Backend): Interceptor {
  return (next) => async (req) => {
    await backend.faults.beforeCall(req.method.name)
    try {
      return await next(req)
    } catch (err) {
      if (err instanceof ConnectError) throw err
      const why = err instanceof Error ? err.message : String(err)
      console.error(`githosted-local: ${req.method.name} failed: ${why}`)
      throw new ConnectError('internal error', Code.Internal)
    }
  }
}

/**
 * The Node request handler for both HTTP versions: Connect (JSON and binary,
 * Connect-Protocol-Version optional) plus clear Connect-shaped errors for what
 * connect-node would answer with an empty body (wrong content type, unknown path).
 */
export function createHttpHandler(backend: Backend): (req: Req, res: Res) => void {
  const adapter = connectNodeAdapter({
    routes: (router: ConnectRouter) => {
      registerRepoService(router, backend)
      registerApiService(router, backend)
    },
    grpc: false,
    grpcWeb: false,
    requireConnectProtocolHeader: false,
    readMaxBytes: READ_MAX_BYTES,
    // Like connect-go: unknown JSON fields are dropped, not rejected.
    jsonOptions: { ignoreUnknownFields: true },
    interceptors: [faultsAndErrors(backend)],
    fallback: (req, res) => {
      const path = (req.url ?? '').split('?')[0] ?? ''
      sendJsonError(res, 404, 'unimplemented', `no such procedure: ${path.slice(0, 200)}`)
    },
  })
  return (req, res) => {
    const path = (req.url ?? '').split('?')[0] ?? ''
    if (req.method === 'POST' && PROCEDURES.has(path)) {
      const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? ''
      if (type !== 'application/json' && type !== 'application/proto') {
        const shown = JSON.stringify(type.slice(0, 100))
        const message = `unsupported content-type ${shown}: use application/json or application/proto`
        sendJsonError(res, 415, 'invalid_argument', message)
        return
      }
    }
    adapter(req, res)
  }
}
