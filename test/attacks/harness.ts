/**
 * The broker as an attacker meets it: token, deploy and status apps behind
 * one loopback HTTP server (routed as API Gateway routes them), the shipped
 * local policy (local/policy.yaml) unless a test brings its own, the local
 * OIDC issuer with its four CI flavours, the local githosted server, and
 * every log line captured so a test can check what operators see (and that
 * no secret is in it).
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { expect } from 'vitest'
import { createLogger } from '../../functions/lib/observability/logger.js'
import { createAuthenticator } from '../../functions/lib/auth/authenticator.js'
import { generateBrokerKey, hashBrokerKey } from '../../functions/lib/auth/broker-keys.js'
import type { JwksOptions } from '../../functions/lib/auth/jwks.js'
import { MemoryReplayStore } from '../../functions/lib/auth/replay.js'
import { DEFAULT_LAYOUT, type ConfigLayout } from '../../functions/lib/deploys/change.js'
import { Client } from '../../functions/lib/githosted/index.js'
import { createTokenBucketLimiter, type RateLimiter } from '../../functions/lib/limits/rate-limiter.js'
import type { LoadedPolicy } from '../../functions/lib/policy/index.js'
import { loadPolicyFile } from '../../functions/lib/policy/load-file.js'
import { staticSecret } from '../../functions/lib/secrets/index.js'
import { createViewerAccess, generateViewerCredential } from '../../functions/lib/status/viewer-access.js'
import { functionForPath } from '../../functions/routes.js'
import { createStatusApp } from '../../functions/status/app.js'
import { readClientFactory } from '../../functions/status/deps.js'
import { createFunctionApps } from '../../local/function-apps.js'
import { startLocalOidcIssuer, type LocalOidcIssuer } from '../../local/oidc/index.js'
import { startTestGithosted, type TestGithosted } from '../helpers/githosted.js'
import { serveApp, type ServedApp } from '../helpers/serve-app.js'
import { findSecrets } from '../setup/secret-patterns.js'

export const AUDIENCE = 'githosted-ci-broker'
export const REPO = 'deploy-configs'
/** The broker key local/policy.yaml names. */
export const KEY_NAME = 'local'

export interface Limits {
  token?: RateLimiter
  deploy?: RateLimiter
  status?: RateLimiter
  /** One per-IP limiter shared by the three apps (as one DynamoDB table would be). */
  ip?: RateLimiter
}

export interface HarnessOptions {
  /** Builds the policy once the OIDC issuer's URLs are known. Default: local/policy.yaml. */
  policy?: (oidc: LocalOidcIssuer) => LoadedPolicy
  limits?: Limits
  jwks?: JwksOptions
  layout?: ConfigLayout
}

export interface Reply {
  status: number
  headers: Headers
  text: string
  /** The parsed body when it is JSON, else undefined. */
  json: Record<string, any> | undefined
}

export interface Harness {
  url: string
  gh: TestGithosted
  oidc: LocalOidcIssuer
  admin: Client
  brokerKey: string
  viewerCredential: string
  logs: string[]
  audits(): Array<Record<string, any>>
  call(method: string, path: string, options?: { auth?: string; body?: unknown; headers?: Record<string, string> }): Promise<Reply>
  /** The same router in process, for requests a real HTTP server would refuse first (a 1 MB header). */
  direct(request: Request, sourceIp?: string): Promise<Response>
  expectNoSecretsInLogs(extra?: string[]): void
  close(): Promise<void>
}

/** Limits no test trips unless it means to. */
export const generous = (): RateLimiter => createTokenBucketLimiter({ capacity: 10_000, refillPerMinute: 10_000 })

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const [gh, oidc] = await Promise.all([startTestGithosted(), startLocalOidcIssuer({ audience: AUDIENCE })])
  const logs: string[] = []
  const logger = createLogger({ level: 'debug', sink: (line) => logs.push(line) })
  const policy = options.policy?.(oidc) ?? loadPolicyFile('local/policy.yaml', { issuerUrls: oidc.policyIssuerUrls })
  const brokerKey = generateBrokerKey()
  const authenticator = createAuthenticator({
    oidc: { issuers: policy.issuers, audience: AUDIENCE, cache: new Map(), ...(options.jwks ? { jwks: options.jwks } : {}) },
    brokerKeys: () => [{ name: KEY_NAME, sha256: hashBrokerKey(brokerKey) }],
    replayStore: new MemoryReplayStore(),
    logger,
  })
  const limits = options.limits ?? {}
  const ip = limits.ip ?? generous()
  const readToken = await gh.createToken({ kind: 'repo', permission: 'read', repoAllowlist: [REPO], name: 'attack-dashboard' })
  const viewer = generateViewerCredential()
  const apps = {
    ...createFunctionApps({
      authenticator,
      policy,
      workspaceToken: staticSecret(gh.bootstrapToken),
      githosted: (token: string) => new Client({ token, baseUrl: gh.url }),
      logger,
      limits: { token: limits.token ?? generous(), deploy: limits.deploy ?? generous(), sourceIp: ip },
      layout: options.layout ?? DEFAULT_LAYOUT,
    }),
    status: createStatusApp({
      readToken: staticSecret(readToken),
      githosted: readClientFactory(gh.url),
      authenticator,
      policy,
      viewer: createViewerAccess({ hash: staticSecret(viewer.sha256) }),
      logger: logger.child({ fn: 'status' }),
      rateLimiter: limits.status ?? generous(),
      ipRateLimiter: ip,
    }),
  }
  const route = async (request: Request, env?: Record<string, unknown>): Promise<Response> => {
    const fn = functionForPath(new URL(request.url).pathname)
    if (!fn) return new Response('{"message":"Not Found"}', { status: 404 })
    return apps[fn].fetch(request, env)
  }
  const served: ServedApp = await serveApp(route)

  return {
    url: served.url,
    gh,
    oidc,
    admin: new Client({ token: gh.bootstrapToken, baseUrl: gh.url }),
    brokerKey,
    viewerCredential: viewer.credential,
    logs,
    audits: () => logs.map((l) => JSON.parse(l) as Record<string, any>).filter((l) => l.audit === 1),
    async call(method, path, { auth, body, headers = {} } = {}) {
      const res = await fetch(`${served.url}${path}`, {
        method,
        redirect: 'manual',
        headers: {
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...(auth ? { authorization: `Bearer ${auth}` } : {}),
          ...headers,
        },
        ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
      })
      const text = await res.text()
      let json: Record<string, any> | undefined
      try {
        json = JSON.parse(text) as Record<string, any>
      } catch {
        json = undefined
      }
      return { status: res.status, headers: res.headers, text, json }
    },
    direct: async (request, sourceIp = '198.51.100.7') => route(request, { remoteAddress: sourceIp }),
    expectNoSecretsInLogs(extra = []) {
      const all = logs.join('\n')
      expect(findSecrets(all)).toEqual([])
      for (const secret of [brokerKey, viewer.credential, gh.bootstrapToken, readToken, ...extra]) {
        expect(all.includes(secret), 'a secret reached the logs').toBe(false)
      }
    },
    async close() {
      await served.close()
      await Promise.all([oidc.close(), gh.close()])
    },
  }
}

/** A loopback HTTP server that counts requests and answers each with `answer` (or never, if it returns undefined). */
export async function countingServer(answer: (path: string) => { status: number; body: string } | undefined) {
  let requests = 0
  const server: Server = createServer((req, res) => {
    requests += 1
    const reply = answer(req.url ?? '/')
    if (!reply) return // hang: the broker's timeout has to end it
    res.writeHead(reply.status, { 'content-type': 'application/json' })
    res.end(reply.body)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    get requests() {
      return requests
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
