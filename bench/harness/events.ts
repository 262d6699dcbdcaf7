/**
 * Lambda events for the benchmarks. API Gateway HTTP API (payload v2) events
 * start from the shared fixtures in test/fixtures/apigw-v2/ when present, so
 * the benchmark parses the same shape the tests do; credentials are put in
 * at run time and never written to the repo.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { ROOT } from './bundles.js'

const APIGW_DIR = join(ROOT, 'test', 'fixtures', 'apigw-v2')
const EB_DIR = join(ROOT, 'test', 'fixtures', 'eventbridge')

type Json = Record<string, unknown>

/** A payload-v2 event shaped like API Gateway's, used when no fixture exists yet. */
function builtInBase(): Json {
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: '/',
    rawQueryString: '',
    headers: {
      accept: '*/*',
      'content-type': 'application/json',
      host: 'abcdef1234.execute-api.us-east-1.amazonaws.com',
      'user-agent': 'curl/8.5.0',
      'x-amzn-trace-id': 'Root=1-65f0c0de-0123456789abcdef01234567',
      'x-forwarded-for': '203.0.113.7',
      'x-forwarded-port': '443',
      'x-forwarded-proto': 'https',
    },
    requestContext: {
      accountId: '123456789012',
      apiId: 'abcdef1234',
      domainName: 'abcdef1234.execute-api.us-east-1.amazonaws.com',
      domainPrefix: 'abcdef1234',
      http: { method: 'GET', path: '/', protocol: 'HTTP/1.1', sourceIp: '203.0.113.7', userAgent: 'curl/8.5.0' },
      requestId: 'JKJaXmPLvHcESHA=',
      routeKey: '$default',
      stage: '$default',
      time: '25/Nov/2025:21:00:00 +0000',
      timeEpoch: 1764104400000,
    },
    isBase64Encoded: false,
  }
}

/**
 * The fixture whose file name contains `hint`; else the shape of a fixture
 * with the same method (its path and body are replaced); else a built-in event.
 */
function base(hint: string, method: string, path: string): { event: Json; source: string } {
  if (existsSync(APIGW_DIR)) {
    const files = readdirSync(APIGW_DIR).filter((f) => f.endsWith('.json')).sort()
    const exact = files.find((f) => f.includes(hint))
    const load = (f: string) => JSON.parse(readFileSync(join(APIGW_DIR, f), 'utf8')) as Json
    if (exact) {
      const event = load(exact)
      return { event, source: event.rawPath === path ? `fixture ${exact}` : `shape of fixture ${exact}` }
    }
    const sameMethod = files.find((f) => f.startsWith(`${method.toLowerCase()}-`))
    if (sameMethod) return { event: load(sameMethod), source: `shape of fixture ${sameMethod}` }
  }
  return { event: builtInBase(), source: 'built-in payload v2 event' }
}

export interface HttpEventInput {
  method: string
  path: string
  query?: string
  headers?: Record<string, string>
  body?: string
  /** Part of a fixture file name to start from, e.g. 'tokens'. */
  fixture?: string
}

/** An API Gateway v2 event for one request, plus where its shape came from. */
export function httpEvent(input: HttpEventInput): { event: Json; source: string } {
  const { event, source } = base(input.fixture ?? input.path.split('/').filter(Boolean).at(-1) ?? '', input.method, input.path)
  const e = structuredClone(event)
  const ctx = (e.requestContext ?? {}) as Json
  const http = (ctx.http ?? {}) as Json
  const headers: Record<string, string> = {}
  // Keep the fixture's infrastructure headers, drop its request-specific ones.
  for (const [k, v] of Object.entries((e.headers ?? {}) as Record<string, string>)) {
    if (!['authorization', 'content-length', 'content-type', 'if-none-match', 'cookie'].includes(k.toLowerCase())) headers[k.toLowerCase()] = v
  }
  Object.assign(headers, input.headers ?? {})
  if (input.body !== undefined) {
    headers['content-length'] = String(Buffer.byteLength(input.body))
  }
  e.headers = headers
  e.rawPath = input.path
  e.rawQueryString = input.query ?? ''
  delete e.queryStringParameters
  delete e.cookies
  delete e.pathParameters
  // Keep the fixture's route key when it is this route (as API Gateway would send it).
  const routeKey = e.routeKey === `${input.method} ${input.path}` ? e.routeKey : '$default'
  e.routeKey = routeKey
  e.requestContext = { ...ctx, http: { ...http, method: input.method, path: input.path }, routeKey, requestId: `bench-${crypto.randomUUID()}` }
  if (input.body !== undefined) {
    e.body = input.body
    e.isBase64Encoded = false
    headers['content-type'] = input.headers?.['content-type'] ?? 'application/json'
  } else {
    delete e.body
  }
  return { event: e, source }
}

/** An EventBridge fixture (by file-name hint), or null when none exists yet. */
export function eventBridgeFixture(hint: string): { event: Json; source: string } | null {
  if (!existsSync(EB_DIR)) return null
  const files = readdirSync(EB_DIR).filter((f) => f.endsWith('.json')).sort()
  const file = files.find((f) => f.includes(hint))
  if (!file) return null
  return { event: JSON.parse(readFileSync(join(EB_DIR, file), 'utf8')) as Json, source: `test/fixtures/eventbridge/${file}` }
}
