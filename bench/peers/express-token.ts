/**
 * The comparison a user might pick instead: the same `POST /v1/tokens`
 * endpoint on Express 5 behind serverless-http. It runs the product's own
 * token flow (functions/lib/tokens/service.ts: deps with their defaults,
 * source-address check, single-use claim and identity limit together,
 * policy, mint, ownership record, one audit line), built from the
 * environment by the same buildTokenDeps and policy as the Lambda, so the
 * cold-start and throughput comparisons are framework + adapter against
 * framework + adapter over one implementation. Like the bench build of the
 * token function, it trusts the bench issuer via BENCH_OIDC_ISSUER_URLS.
 */
import express, { type NextFunction, type Request, type Response } from 'express'
import serverless from 'serverless-http'
import builtPolicy from '../../config/policy.yaml'
import { toProblem } from '../../functions/lib/edge/problem.js'
import { beginSourceIpCheck } from '../../functions/lib/limits/rate-limiter.js'
import { policyFromBuild } from '../../functions/lib/policy/compiled.js'
import { warmUpConnections } from '../../functions/lib/lambda/warm-up.js'
import { buildTokenDeps } from '../../functions/token/deps.js'
import { createTokenService, type TokenService } from '../../functions/lib/tokens/service.js'
import { parseApiTokenRequest } from '../../functions/token/request.js'
import { mintResponse } from '../../functions/token/response.js'

// As the Lambda handler does: the comparison is framework against framework, not warm-up against none.
warmUpConnections(process.env)

const policy = policyFromBuild(builtPolicy, { issuerUrls: JSON.parse(process.env.BENCH_OIDC_ISSUER_URLS ?? '{}') })

// Built on the first request, as the Hono app does, so INIT stays free of configuration work.
let service: TokenService | undefined
const getService = () => (service ??= createTokenService(buildTokenDeps(process.env, policy)))

type LambdaRequest = Request & { requestContext?: { requestId?: string; http?: { sourceIp?: string } } }

const app = express()
app.disable('x-powered-by')
app.use(express.json({ limit: '16kb' }))

app.post('/v1/tokens', async (req: LambdaRequest, res: Response, next: NextFunction) => {
  try {
    const tokens = getService()
    // serverless-http exposes the API Gateway request context on the request.
    const sourceIp = req.requestContext?.http?.sourceIp
    const ipCheck = beginSourceIpCheck(() => tokens.ipRateLimiter, sourceIp)
    const minted = await tokens.mint(
      {
        requestId: req.requestContext?.requestId ?? crypto.randomUUID(),
        authorization: req.get('authorization'),
        ...(sourceIp ? { sourceIp } : {}),
        ipChecked: async () => ipCheck,
      },
      () => parseApiTokenRequest((req.body ?? {}) as Record<string, unknown>),
    )
    res.set('cache-control', 'no-store').status(201).json(mintResponse(minted))
  } catch (err) {
    next(err)
  }
})

app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
  const problem = toProblem(err)
  res.status(problem.status).type('application/problem+json').send(JSON.stringify(problem))
})

export const handler = serverless(app)
