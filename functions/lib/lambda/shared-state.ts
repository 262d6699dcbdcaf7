/**
 * The container's one client of the state table (its keep-alive connection
 * is reused across invocations), for every function's deps.
 */
import { createSharedState, type SharedState, type StateConfig } from '../state/index.js'
import type { RateLimiter } from '../limits/rate-limiter.js'
import type { Env, FunctionLimits } from './config.js'

let containerState: { key: string; state: SharedState } | undefined

export function sharedStateFor(config: StateConfig, env: Env): SharedState {
  const key = JSON.stringify(config)
  if (containerState?.key !== key) containerState = { key, state: createSharedState(config, { env }) }
  return containerState.state
}

/** The per-identity and per-source-address limiters of one HTTP function, counted across every container. */
export function sharedLimiters(state: SharedState, limits: FunctionLimits): { rateLimiter: RateLimiter; ipRateLimiter: RateLimiter } {
  return {
    rateLimiter: state.rateLimiter({ scope: limits.scope, limit: limits.perIdentity }),
    ipRateLimiter: state.sourceIpLimiter(limits.perSourceIp),
  }
}
