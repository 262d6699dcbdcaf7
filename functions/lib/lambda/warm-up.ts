/**
 * Connection warm-up at INIT. A handler calls warmUpConnections(process.env)
 * as its module loads: the container's connections to the state table and to
 * githosted are opened then (DNS, TCP and TLS, and one small GET each, see
 * lib/net/warm.ts), while the runtime finishes INIT and fetches the first
 * event, so the first request finds them in the pools. A call that comes
 * while one is still opening waits for it rather than opening a second.
 * Lambda bills INIT the same either way, and INIT does not wait for this:
 * nothing here is awaited.
 *
 * Safe by construction: the configuration is read as the deps read it, and
 * any problem (a variable missing or malformed, no route, a refused or slow
 * connection) only means no warm-up; the first request reports configuration
 * errors as before. No secret is read and no credential is sent, nothing is
 * logged, nothing throws or rejects, and each warm-up ends within
 * WARM_UP_TIMEOUT_MS (after that, a first call that waited for it connects
 * on its own).
 */
import { sharedNodeTransport } from '../githosted/node-transport.js'
import { envVars, githostedUrl, readStateConfig, type Env } from './config.js'
import { sharedStateFor } from './shared-state.js'

/** Long enough for a TLS handshake across a region; short enough that a first call never waits long on a dead one. */
export const WARM_UP_TIMEOUT_MS = 1_500

const ignore = () => {}

/** Starts opening the state table and githosted connections; returns at once. */
export function warmUpConnections(env: Env): void {
  const vars = envVars(env)
  try {
    sharedStateFor(readStateConfig(vars), env).table.db.warm(WARM_UP_TIMEOUT_MS).catch(ignore)
  } catch {
    // A configuration error: the first request reports it.
  }
  try {
    sharedNodeTransport().warm(githostedUrl(vars), WARM_UP_TIMEOUT_MS).catch(ignore)
  } catch {
    // As above.
  }
}
