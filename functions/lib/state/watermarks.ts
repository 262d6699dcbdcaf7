/**
 * Event-order watermarks: per (repo, environment, key), the time of the
 * newest event whose value was applied. An event older than the mark is
 * skipped, whichever container sees it. Raised with a conditional update, so
 * a mark never moves backwards even if two writers race.
 */
import { ConditionFailed, N, S, num, str, type Item } from './dynamodb.js'
import { PK, PREFIX, type StateTable, TTL, epochSeconds, hashKey } from './table.js'

export interface Watermark {
  /** Event time, epoch ms. */
  ms: number
  commit: string
}

export interface WatermarkStore {
  /** The newest mark among `pointers`, if any. */
  newest(repo: string, environment: string, pointers: string[]): Promise<(Watermark & { pointer: string }) | undefined>
  /** Raises the marks of `pointers` to `ms` where they are lower. */
  raise(repo: string, environment: string, pointers: string[], mark: Watermark): Promise<void>
}

const RETENTION_SECONDS = 365 * 24 * 3600

export function createDynamoWatermarkStore(table: StateTable): WatermarkStore {
  const key = (repo: string, env: string, pointer: string) => ({ [PK]: S(PREFIX.order + hashKey(repo, env, pointer)) })
  return {
    async newest(repo, environment, pointers) {
      let best: (Watermark & { pointer: string }) | undefined
      const items = await Promise.all(
        pointers.map((p) => table.db.call<{ Item?: Item }>('GetItem', { TableName: table.name, Key: key(repo, environment, p), ConsistentRead: true })),
      )
      items.forEach((out, i) => {
        const ms = num(out.Item, 'ms')
        if (ms !== undefined && (!best || ms > best.ms)) best = { ms, commit: str(out.Item, 'commit') ?? '', pointer: pointers[i]! }
      })
      return best
    },
    async raise(repo, environment, pointers, mark) {
      await Promise.all(
        pointers.map(async (p) => {
          try {
            await table.db.call('UpdateItem', {
              TableName: table.name,
              Key: key(repo, environment, p),
              UpdateExpression: 'SET #ms = :ms, #commit = :commit, #ttl = :exp',
              ConditionExpression: 'attribute_not_exists(#ms) OR #ms < :ms',
              ExpressionAttributeNames: { '#ms': 'ms', '#commit': 'commit', '#ttl': TTL },
              ExpressionAttributeValues: {
                ':ms': N(mark.ms),
                ':commit': S(mark.commit),
                ':exp': N(epochSeconds(table.clock().getTime()) + RETENTION_SECONDS),
              },
            })
          } catch (err) {
            // A newer mark is already there: nothing to raise.
            if (!(err instanceof ConditionFailed)) throw err
          }
        }),
      )
    },
  }
}

/** In-process marks, for unit tests. */
export function createMemoryWatermarkStore(): WatermarkStore {
  const marks = new Map<string, Watermark>()
  const k = (repo: string, env: string, p: string) => `${repo}\u0000${env}\u0000${p}`
  return {
    async newest(repo, environment, pointers) {
      let best: (Watermark & { pointer: string }) | undefined
      for (const p of pointers) {
        const m = marks.get(k(repo, environment, p))
        if (m && (!best || m.ms > best.ms)) best = { ...m, pointer: p }
      }
      return best
    },
    async raise(repo, environment, pointers, mark) {
      for (const p of pointers) {
        const m = marks.get(k(repo, environment, p))
        if (!m || m.ms < mark.ms) marks.set(k(repo, environment, p), mark)
      }
    },
  }
}
