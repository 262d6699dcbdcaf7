/**
 * Which function serves which path. API Gateway routes (infra) and the local
 * router (`npm start`) both read this table, so the two cannot drift apart.
 */
export type FunctionName = 'token' | 'deploy' | 'status'

export interface RouteSpec {
  /** API Gateway HTTP API route key path; `{proxy+}` = everything below. */
  path: string
  methods: Array<'GET' | 'POST' | 'DELETE' | 'ANY'>
  fn: FunctionName
}

export const ROUTES: readonly RouteSpec[] = [
  { path: '/healthz', methods: ['GET'], fn: 'token' },
  { path: '/ci/token', methods: ['POST'], fn: 'token' },
  // ANY: the functions answer 405 (with a problem body) for methods they do not serve.
  { path: '/v1/tokens', methods: ['ANY'], fn: 'token' },
  { path: '/v1/tokens/{proxy+}', methods: ['ANY'], fn: 'token' },
  { path: '/v1/deploys', methods: ['ANY'], fn: 'deploy' },
  { path: '/v1/deploys/{proxy+}', methods: ['ANY'], fn: 'deploy' },
  { path: '/v1/promotions', methods: ['ANY'], fn: 'deploy' },
  { path: '/v1/status', methods: ['ANY'], fn: 'status' },
  { path: '/v1/status/{proxy+}', methods: ['ANY'], fn: 'status' },
  { path: '/', methods: ['GET'], fn: 'status' },
  { path: '/openapi.json', methods: ['GET'], fn: 'status' },
  // Everything else: the status function answers problem+json 404 (or 405), never API Gateway's bare {"message":"Not Found"}.
  { path: '/{proxy+}', methods: ['ANY'], fn: 'status' },
]

/**
 * The function for a request path (method-agnostic; the function answers 405
 * itself). Routes are tried in order, so the catch-all comes last.
 */
export function functionForPath(path: string): FunctionName | undefined {
  for (const r of ROUTES) {
    if (r.path.endsWith('/{proxy+}')) {
      const prefix = r.path.slice(0, -'{proxy+}'.length)
      if (path.startsWith(prefix)) return r.fn
    } else if (path === r.path) {
      return r.fn
    }
  }
  return undefined
}
