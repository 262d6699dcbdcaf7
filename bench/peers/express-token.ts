/**
 * The comparison a user might pick instead: the same `POST /v1/tokens`
 * endpoint on Express 5 behind serverless-http. It reuses the product's
 * domain modules (environment → deps, authenticator, policy, minter, request
 * validation, audit, problem details), so the cold-start comparison is
 * framework + adapter against framework + adapter, not two implementations.
 * Like the bench build of the token function, it trusts the bench issuer via
 * BENCH_OIDC_ISSUER_URLS.
 */
import express, { type NextFunction, type Request, type Response } from 'express'
import serverless from 'serverless-http'
import policyDocument from '../../config/policy.yaml'
import { createAuditor, fingerprint } from '../../functions/lib/audit/audit.js'
import { ForbiddenError } from '../../functions/lib/errors.js'
import { toProblem } from '../../functions/lib/http/problem.js'
import { createTokenBucketLimiter, enforceRateLimit } from '../../functions/lib/http/rate-limit.js'
import { loadPolicy } from '../../functions/lib/policy/index.js'
import type { TokenAppDeps } from '../../functions/token/app.js'
import { buildTokenDeps } from '../../functions/token/deps.js'
import { createMinter } from '../../functions/lib/tokens/mint.js'
import { parseApiTokenRequest } from '../../functions/token/request.js'

const policy = loadPolicy(policyDocument, { issuerUrls: JSON.parse(process.env.BENCH_OIDC_ISSUER_URLS ?? '{}') })

// Built on the first request, as the Hono app does, so INIT stays free of configuration work.
let deps: (TokenAppDeps & { minter: ReturnType<typeof createMinter> }) | undefined
const getDeps = () => {
  if (!deps) {
    const d = buildTokenDeps(process.env, policy)
    deps = { ...d, minter: createMinter({ workspaceToken: d.workspaceToken, githosted: d.githosted }) }
  }
  return deps
}
const limiter = createTokenBucketLimiter()

const app = express()
app.disable('x-powered-by')
app.use(express.json({ limit: '16kb' }))

app.post('/v1/tokens', async (req: Request, res: Response, next: NextFunction) => {
  try {
    const d = getDeps()
    const request = parseApiTokenRequest((req.body ?? {}) as Record<string, unknown>)
    const identity = await d.authenticator.authenticate(req.get('authorization'), 'mint')
    await enforceRateLimit(limiter, `oidc:${identity.issuer ?? ''}:${identity.subject}`, 'token requests')
    const decision = d.policy.authorizeMint(identity, request)
    if (!decision.allowed || !decision.grant) throw new ForbiddenError(decision.reason)
    const ttlSeconds = Math.min(request.ttlSeconds, decision.grant.maxTtlSeconds)
    const minted = await d.minter.mint({
      repos: request.repos,
      permission: request.permission,
      ttlSeconds,
      maxTtlSeconds: decision.grant.maxTtlSeconds,
      subject: identity.subject,
    })
    createAuditor(d.logger).record({
      event: 'token.mint',
      // serverless-http exposes the API Gateway request context on the request.
      requestId: (req as Request & { requestContext?: { requestId?: string } }).requestContext?.requestId ?? crypto.randomUUID(),
      identity,
      rule: decision.rule,
      repos: request.repos,
      permission: request.permission,
      outcome: 'allowed',
      code: 'OK',
      reason: decision.reason,
      ttlSeconds: minted.ttlSeconds,
      tokenId: minted.record.id,
      tokenFingerprint: fingerprint(minted.token),
    })
    res.set('cache-control', 'no-store').status(201).json({
      token: minted.token,
      tokenId: minted.record.id,
      expiresAt: minted.expiresAt.toISOString(),
      repos: request.repos,
      permission: request.permission,
      rule: decision.rule,
      ttlSeconds: minted.ttlSeconds,
    })
  } catch (err) {
    next(err)
  }
})

app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
  const problem = toProblem(err)
  res.status(problem.status).type('application/problem+json').send(JSON.stringify(problem))
})

export const handler = serverless(app)
