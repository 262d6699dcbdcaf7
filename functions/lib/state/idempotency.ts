/**
 * Idempotency records: what a deploy answered, under a hash of (repo,
 * environment, kind, key), so that the same idempotency key or event id
 * retried on any container replays the original result instead of applying
 * again. Kept for days: far longer than any retry, and than the window of
 * recent commits that the Git-history fallback can search.
 */
import { N, S, str, type Item } from './dynamodb.js'
import { PK, PREFIX, type StateTable, TTL, epochSeconds, hashKey } from './table.js'

export interface IdempotencyStore<T> {
  get(key: string): Promise<T | undefined>
  put(key: string, value: T): Promise<void>
}

export const IDEMPOTENCY_RETENTION_SECONDS = 7 * 24 * 3600

export function createDynamoIdempotencyStore<T>(table: StateTable, retentionSeconds = IDEMPOTENCY_RETENTION_SECONDS): IdempotencyStore<T> {
  const key = (k: string) => ({ [PK]: S(PREFIX.idempotency + hashKey(k)) })
  return {
    async get(k) {
      const out = await table.db.call<{ Item?: Item }>('GetItem', { TableName: table.name, Key: key(k), ConsistentRead: true })
      const text = str(out.Item, 'result')
      return text === undefined ? undefined : (JSON.parse(text) as T)
    },
    async put(k, value) {
      await table.db.call('PutItem', {
        TableName: table.name,
        Item: {
          ...key(k),
          result: S(JSON.stringify(value)),
          [TTL]: N(epochSeconds(table.clock().getTime()) + retentionSeconds),
        },
      })
    },
  }
}

/** In-process store for unit tests and single-process tools: not shared, not for Lambda. */
export function createMemoryIdempotencyStore<T>(): IdempotencyStore<T> {
  const records = new Map<string, string>()
  return {
    async get(k) {
      const v = records.get(k)
      return v === undefined ? undefined : (JSON.parse(v) as T)
    },
    async put(k, value) {
      records.set(k, JSON.stringify(value))
    },
  }
}
