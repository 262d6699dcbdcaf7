import { AsyncLocalStorage } from 'node:async_hooks'
import type * as http from 'node:http'
import * as http2 from 'node:http2'
import { Code, ConnectError, type ConnectRouter, type Interceptor } from '@connectrpc/connect'
import { connectNodeAdapter } from '@connectrpc/connect-node'
import { ApiService } from '../../functions/lib/githosted/gen/githosted/v1/api_pb.js'
import { RepoService } from '../../functions/lib/githosted/gen/githosted/v1/repo_pb.js'
import { registerApiService } from './api-service.js'
import type { Backend } from './backend.js'
import { EXTENSION_REQUEST_FIELDS } from './profiles.js'
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

/** The response being produced, so a fault can cut its connection from inside a handler. */
const currentResponse = new AsyncLocalStorage<Res>()

/** Drops the connection under a response without answering (HTTP/1.1 socket or h2 stream). */
function resetConnection(res: Res): void {
  if ('stream' in res && res.stream) {
    res.stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR)
    res.stream.session?.destroy()
  } else {
    ;(res as http.ServerResponse).socket?.destroy()
  }
}

/** Thrown after a reset so nothing more is written; the client never sees it. */
class ConnectionReset extends Error {}

/**
 * What the profile changes per call: "planned" RPCs unimplemented, and our
 * extension request fields refused like any unknown JSON key when the schema
 * is strict (protobuf-es fromJson's exact wording). In binary they are unknown
 * field numbers, which protobuf keeps silently, so only JSON is refused.
 */
function profileRules(backend: Backend): Interceptor {
  return (next) => async (req) => {
    const { profile } = backend
    const method = req.method.name
    if (profile.unimplemented.has(method)) {
      throw new ConnectError(`${req.service.typeName}.${method} is not implemented`, Code.Unimplemented)
    }
    const type = req.header.get('content-type') ?? ''
    if (profile.rejectUnknownFields && type.startsWith('application/json')) {
      const message = req.message as unknown as Record<string, unknown>
      for (const field of EXTENSION_REQUEST_FIELDS[method] ?? []) {
        const value = message[field]
        if (value !== undefined && value !== '') {
          throw new ConnectError(
            `cannot decode message ${req.method.input.typeName} from JSON: key "${field}" is unknown`,
            Code.InvalidArgument,
          )
        }
      }
    }
    return next(req)
  }
}

/**
 * Fault injection, then the handler; unexpected (non-Connect) errors become a
 * bare `internal` so no stack or disk path reaches the client.
 */
function faultsAndErrors(backend: Backend): Interceptor {
  return (next) => async (req) => {
    await backend.faults.beforeCall(req.method.name)
    try {
      const out = await next(req)
      const method = req.method.name
      if ((method === 'WriteFile' || method === 'DeleteFile') && backend.faults.takeResetAfterWrite()) {
        const res = currentResponse.getStore()
        if (res) resetConnection(res)
        throw new ConnectionReset('connection reset after the write landed (injected)')
      }
      return out
    } catch (err) {
      if (err instanceof ConnectionReset) throw new ConnectError(err.message, Code.Unavailable)
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
  const lenient = adapterFor(backend, true)
  const strict = adapterFor(backend, false)
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
    const adapter = backend.profile.rejectUnknownFields ? strict : lenient
    currentResponse.run(res, () => adapter(req, res))
  }
}

function adapterFor(backend: Backend, ignoreUnknownFields: boolean): (req: Req, res: Res) => void {
  return connectNodeAdapter({
    routes: (router: ConnectRouter) => {
      registerRepoService(router, backend)
      registerApiService(router, backend)
    },
    grpc: false,
    grpcWeb: false,
    requireConnectProtocolHeader: false,
    readMaxBytes: READ_MAX_BYTES,
    // Lenient: like connect-go ≥ 1.9, unknown JSON fields are dropped; strict profiles reject them.
    jsonOptions: { ignoreUnknownFields },
    interceptors: [faultsAndErrors(backend), profileRules(backend)],
    fallback: (req, res) => {
      const path = (req.url ?? '').split('?')[0] ?? ''
      sendJsonError(res, 404, 'unimplemented', `no such procedure: ${path.slice(0, 200)}`)
    },
  })
}
