/**
 * Per-repo write leases with a fencing counter: broker writers to one repo
 * take turns across every container. githosted cannot check a fence, so the
 * lease is made safe by time instead: it lasts `durationMs` (shorter than
 * the function timeout, so a killed container's lease frees itself), and a
 * holder renews it before any write that could outlive what is left
 * (`ensure`), so a write is only ever sent while its lease holds. The fence
 * (a counter raised on every acquisition) goes into the deploy logs, and
 * makes renew and release conditional on still being the holder, so a
 * holder whose lease lapsed can neither extend nor free its successor's.
 */
import { randomUUID } from 'node:crypto'
import { DependencyUnavailableError } from '../errors.js'
import { ConditionFailed, N, S, num, type Item } from './dynamodb.js'
import { PK, PREFIX, type StateTable, TTL, epochSeconds, hashKey } from './table.js'

export interface Lease {
  resource: string
  holder: string
  fence: number
  /** Held until this time (epoch ms) unless renewed. */
  until: number
}

export interface AcquireOptions {
  /** Give up waiting at this time (epoch ms). */
  deadline: number
  /** Called once when the lease was busy at the first try (metrics, logs). */
  onWait?: () => void
}

export interface LeaseManager {
  readonly durationMs: number
  acquire(resource: string, options: AcquireOptions): Promise<Lease>
  /** Renews when less than `minRemainingMs` is left; LeaseLostError if another holder has it now. */
  ensure(lease: Lease, minRemainingMs: number): Promise<Lease>
  /** Frees the lease if still held; never throws for a lease already lost. */
  release(lease: Lease): Promise<void>
}

/** Another writer held the repo until our deadline. Nothing was written. */
export class LeaseBusyError extends DependencyUnavailableError {
  static readonly CODE = 'WRITE_LEASE_BUSY'
  override readonly code = LeaseBusyError.CODE
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(message)
  }
  override details() {
    return { retryAfterSeconds: this.retryAfterSeconds }
  }
}

/** Our lease expired and another writer took it before we wrote. Nothing more of ours is written. */
export class LeaseLostError extends DependencyUnavailableError {
  static readonly CODE = 'WRITE_LEASE_LOST'
  override readonly code = LeaseLostError.CODE
}

export interface LeaseOptions {
  /** How long one acquisition holds. Default 12 s: under the deploy function's timeout. */
  durationMs?: number
  sleep?: (ms: number) => Promise<void>
  random?: () => number
}

const defaultSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

/**
 * Polls with jittered backoff from 5 ms up to 100 ms until `deadline`. Only
 * one request per process polls for a resource (see `queuedLocally`), so a
 * burst costs the table a few polls per process, not one per request.
 */
async function waitFor<T>(
  tryOnce: () => Promise<T | undefined>,
  options: AcquireOptions,
  now: () => number,
  sleep: (ms: number) => Promise<void>,
  random: () => number,
  resource: string,
): Promise<T> {
  let delay = 5
  let waited = false
  for (;;) {
    const got = await tryOnce()
    if (got !== undefined) return got
    if (!waited) {
      waited = true
      options.onWait?.()
    }
    const left = options.deadline - now()
    if (left <= 0) {
      throw new LeaseBusyError(`Other deploys to ${resource} kept it busy until this request's deadline; nothing was written. Try again.`, 2)
    }
    await sleep(Math.min(left, delay * (0.5 + random())))
    delay = Math.min(100, delay * 2)
  }
}

/**
 * Requests of one process for one resource queue here first, in arrival
 * order, and only the head of the queue asks the shared table. On Lambda a
 * container serves one request at a time, so this only matters where one
 * process serves many (npm start, other hosts); there it keeps a burst from
 * turning into a storm of conditional writes, and makes turns FIFO within
 * the process.
 */
export function queuedLocally(inner: LeaseManager): LeaseManager {
  const tails = new Map<string, Promise<void>>()
  const batons = new Map<string, () => void>()
  return {
    durationMs: inner.durationMs,
    async acquire(resource, options) {
      const previous = tails.get(resource) ?? Promise.resolve()
      let pass!: () => void
      const mine = new Promise<void>((r) => (pass = r))
      const tail = previous.then(() => mine)
      tails.set(resource, tail)
      void tail.then(() => {
        if (tails.get(resource) === tail) tails.delete(resource)
      })
      const left = options.deadline - Date.now()
      let timer: NodeJS.Timeout | undefined
      const turn = await Promise.race([
        previous.then(() => true),
        new Promise<false>((r) => (timer = setTimeout(() => r(false), Math.max(0, left)))),
      ])
      clearTimeout(timer)
      if (!turn) {
        // Keep the queue moving: our turn passes on as soon as it comes.
        void previous.then(pass)
        throw new LeaseBusyError(`Other deploys to ${resource} kept it busy until this request's deadline; nothing was written. Try again.`, 2)
      }
      try {
        const lease = await inner.acquire(resource, options)
        batons.set(lease.holder, pass)
        return lease
      } catch (err) {
        pass()
        throw err
      }
    },
    ensure: (lease, min) => inner.ensure(lease, min),
    async release(lease) {
      try {
        await inner.release(lease)
      } finally {
        batons.get(lease.holder)?.()
        batons.delete(lease.holder)
      }
    },
  }
}

export function createDynamoLeaseManager(table: StateTable, options: LeaseOptions = {}): LeaseManager {
  return queuedLocally(dynamoLeases(table, options))
}

function dynamoLeases(table: StateTable, options: LeaseOptions): LeaseManager {
  const durationMs = options.durationMs ?? 12_000
  const sleep = options.sleep ?? defaultSleep
  const random = options.random ?? Math.random
  const now = () => table.clock().getTime()
  const key = (resource: string) => ({ [PK]: S(PREFIX.lease + hashKey(resource)) })
  // The counter outlives any one lease by far, so fences keep rising.
  const itemTtl = () => N(epochSeconds(now()) + 30 * 24 * 3600)

  return {
    durationMs,
    acquire(resource, acquireOptions) {
      const holder = randomUUID()
      return waitFor(
        async () => {
          const t = now()
          try {
            const out = await table.db.call<{ Attributes?: Item }>('UpdateItem', {
              TableName: table.name,
              Key: key(resource),
              UpdateExpression: 'SET #holder = :holder, #until = :until, #ttl = :exp ADD #fence :one',
              ConditionExpression: 'attribute_not_exists(#until) OR #until < :now',
              ExpressionAttributeNames: { '#holder': 'holder', '#until': 'until', '#fence': 'fence', '#ttl': TTL },
              ExpressionAttributeValues: { ':holder': S(holder), ':until': N(t + durationMs), ':now': N(t), ':one': N(1), ':exp': itemTtl() },
              ReturnValues: 'ALL_NEW',
            })
            return { resource, holder, fence: num(out.Attributes, 'fence') ?? 0, until: t + durationMs }
          } catch (err) {
            if (err instanceof ConditionFailed) return undefined
            throw err
          }
        },
        acquireOptions,
        now,
        sleep,
        random,
        resource,
      )
    },
    async ensure(lease, minRemainingMs) {
      const t = now()
      if (lease.until - t >= minRemainingMs) return lease
      try {
        await table.db.call('UpdateItem', {
          TableName: table.name,
          Key: key(lease.resource),
          UpdateExpression: 'SET #until = :until',
          ConditionExpression: '#holder = :holder AND #fence = :fence AND #until >= :now',
          ExpressionAttributeNames: { '#holder': 'holder', '#until': 'until', '#fence': 'fence' },
          ExpressionAttributeValues: { ':holder': S(lease.holder), ':fence': N(lease.fence), ':until': N(t + durationMs), ':now': N(t) },
        })
      } catch (err) {
        if (err instanceof ConditionFailed) {
          throw new LeaseLostError(`The write lease on ${lease.resource} (fence ${lease.fence}) expired before this deploy could write; nothing more was written. Try again.`)
        }
        throw err
      }
      return { ...lease, until: t + durationMs }
    },
    async release(lease) {
      try {
        await table.db.call('UpdateItem', {
          TableName: table.name,
          Key: key(lease.resource),
          UpdateExpression: 'SET #until = :zero',
          ConditionExpression: '#holder = :holder AND #fence = :fence',
          ExpressionAttributeNames: { '#holder': 'holder', '#until': 'until', '#fence': 'fence' },
          ExpressionAttributeValues: { ':holder': S(lease.holder), ':fence': N(lease.fence), ':zero': N(0) },
        })
      } catch (err) {
        // Already taken over after expiry: nothing of ours to free.
        if (!(err instanceof ConditionFailed)) throw err
      }
    },
  }
}

/** In-process leases with the same semantics, for unit tests. */
export function createMemoryLeaseManager(options: LeaseOptions & { clock?: () => Date } = {}): LeaseManager {
  const durationMs = options.durationMs ?? 12_000
  const sleep = options.sleep ?? defaultSleep
  const random = options.random ?? Math.random
  const now = () => (options.clock ? options.clock().getTime() : Date.now())
  const held = new Map<string, { holder: string; fence: number; until: number }>()
  return {
    durationMs,
    acquire(resource, acquireOptions) {
      const holder = randomUUID()
      return waitFor(
        async () => {
          const t = now()
          const cur = held.get(resource)
          if (cur && cur.until >= t) return undefined
          const fence = (cur?.fence ?? 0) + 1
          held.set(resource, { holder, fence, until: t + durationMs })
          return { resource, holder, fence, until: t + durationMs }
        },
        acquireOptions,
        now,
        sleep,
        random,
        resource,
      )
    },
    async ensure(lease, minRemainingMs) {
      const t = now()
      if (lease.until - t >= minRemainingMs) return lease
      const cur = held.get(lease.resource)
      if (!cur || cur.holder !== lease.holder || cur.until < t) throw new LeaseLostError(`The write lease on ${lease.resource} expired.`)
      cur.until = t + durationMs
      return { ...lease, until: cur.until }
    },
    async release(lease) {
      const cur = held.get(lease.resource)
      if (cur && cur.holder === lease.holder) cur.until = 0
    },
  }
}
