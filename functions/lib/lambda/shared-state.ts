/**
 * The container's one client of the state table (its keep-alive connection
 * is reused across invocations), for every function's deps.
 */
import { createSharedState, type SharedState, type StateConfig } from '../state/index.js'
import type { Env } from './env.js'

let containerState: { key: string; state: SharedState } | undefined

export function sharedStateFor(config: StateConfig, env: Env): SharedState {
  const key = JSON.stringify(config)
  if (containerState?.key !== key) containerState = { key, state: createSharedState(config, { env }) }
  return containerState.state
}
