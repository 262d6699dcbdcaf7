/**
 * A real DynamoDB protocol for tests: dynalite in process, in memory, with
 * the state table created through the product's own client. Every test
 * file gets its own server (port 0), so files running in parallel share
 * nothing.
 */
import { createSharedState, type SharedState, type SharedStateOptions } from '../../functions/lib/state/index.js'
import { LOCAL_REGION, LOCAL_STATE_ENV, LOCAL_TABLE, LOCAL_TIMEOUT_MS, ensureStateTable, startDynalite } from '../../local/state.js'

export interface TestState {
  endpoint: string
  tableName: string
  /** The variables a function needs to reach this table. */
  env: Record<string, string>
  /** A client of the table, as the functions build it. */
  state(options?: Omit<SharedStateOptions, 'env'>): SharedState
  close(): Promise<void>
}

export async function startTestState(): Promise<TestState> {
  const dynamo = await startDynalite()
  await ensureStateTable(dynamo.endpoint)
  const clients: SharedState[] = []
  return {
    endpoint: dynamo.endpoint,
    tableName: LOCAL_TABLE,
    env: { STATE_TABLE_NAME: LOCAL_TABLE, STATE_TABLE_ENDPOINT: dynamo.endpoint, STATE_TABLE_TIMEOUT_MS: String(LOCAL_TIMEOUT_MS), AWS_REGION: LOCAL_REGION, ...LOCAL_STATE_ENV },
    state(options = {}) {
      const s = createSharedState({ tableName: LOCAL_TABLE, region: LOCAL_REGION, endpoint: dynamo.endpoint, timeoutMs: LOCAL_TIMEOUT_MS }, { ...options, env: LOCAL_STATE_ENV })
      clients.push(s)
      return s
    },
    async close() {
      for (const c of clients) c.close()
      await dynamo.close()
    },
  }
}
