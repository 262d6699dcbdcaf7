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
import { DependencyUnavailableError, RetryLaterError } from '../errors.js'
import { ConditionFailed, N, S, StateUnavailableError, num, type Item } from './dynamodb.js'
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
export class LeaseBusyError extends RetryLaterError {
  static override readonly code: string = 'WRITE_LEASE_BUSY'
}

/** Our lease expired and another writer took it before we wrote. Nothing more of ours is written. */
export class LeaseLostError extends DependencyUnavailableError {
  static override readonly code: string = 'WRITE_LEASE_LOST'
}

export interface LeaseOptions {
  /** How long one acquisition holds. Default 12 s: under the deploy function's timeout. */
  durationMs?: number
  sleep?: (ms: number) => Promise<void>
  random?: () => number
}

const defaultSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

/**
 * Where leases are kept: the shared table, or this process (unit tests).
 * Each operation is one conditional step; the timing rules live in
 * `leaseManager`, once.
 */
interface LeaseStore {
  /** Takes the lease if it is free at `now` (expired, never taken, or already `holder`'s); undefined if another holds it. */
  tryTake(resource: string, holder: string, now: number, until: number): Promise<Lease | undefined>
  /** Extends our lease to `until`; false if it is no longer ours. */
  extend(lease: Lease, now: number, until: number): Promise<boolean>
  /** Frees our lease; a no-op if it is no longer ours. */
  free(lease: Lease): Promise<void>
}

/**
 * Polls with jittered backoff from 5 ms up to 100 ms until `deadline`. Only
 * one request per process polls for a resource (see `queuedLocally`), so a
 * burst costs the table a few polls per process, not one per request.
 */
function leaseManager(store: LeaseStore, options: LeaseOptions, now: () => number): LeaseManager {
  const durationMs = options.durationMs ?? 12_000
  const sleep = options.sleep ?? defaultSleep
  const random = options.random ?? Math.random
  return {
    durationMs,
    async acquire(resource, acquireOptions) {
      const holder = randomUUID()
      let delay = 5
      let waited = false
      let failures = 0
      for (;;) {
        const t = now()
        let got: Lease | undefined
        try {
          got = await store.tryTake(resource, holder, t, t + durationMs)
          failures = 0
        } catch (err) {
          // A poll whose answer was lost may have taken the lease: the next poll, by the same
          // holder, takes it again (tryTake accepts its own holder). A table that keeps failing
          // fails the request closed.
          if (!(err instanceof StateUnavailableError) || ++failures >= 3 || acquireOptions.deadline <= now()) throw err
        }
        if (got) return got
        if (!waited) {
          waited = true
          acquireOptions.onWait?.()
        }
        const left = acquireOptions.deadline - now()
        if (left <= 0) throw busy(resource)
        await sleep(Math.min(left, delay * (0.5 + random())))
        delay = Math.min(100, delay * 2)
      }
    },
    async ensure(lease, minRemainingMs) {
      const t = now()
      if (lease.until - t >= minRemainingMs) return lease
      if (!(await store.extend(lease, t, t + durationMs))) {
        throw new LeaseLostError(`The write lease on ${lease.resource} (fence ${lease.fence}) expired before this deploy could write; nothing more was written. Try again.`)
      }
      return { ...lease, until: t + durationMs }
    },
    release: (lease) => store.free(lease),
  }
}

const busy = (resource: string) =>
  new LeaseBusyError(`Other deploys to ${resource} kept it busy until this request's deadline; nothing was written. Try again.`, 2)

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
        throw busy(resource)
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
  return queuedLocally(leaseManager(dynamoLeaseStore(table), options, () => table.clock().getTime()))
}

/** In-process leases with the same semantics, for unit tests. */
export function createMemoryLeaseManager(options: LeaseOptions & { clock?: () => Date } = {}): LeaseManager {
  return queuedLocally(leaseManager(memoryLeaseStore(), options, () => (options.clock ? options.clock().getTime() : Date.now())))
}

/** One item per resource: holder, fence (raised on every take) and held-until, all conditional on the holder. */
function dynamoLeaseStore(table: StateTable): LeaseStore {
  const key = (resource: string) => ({ [PK]: S(PREFIX.lease + hashKey(resource)) })
  const names = { '#holder': 'holder', '#until': 'until', '#fence': 'fence' }
  const mine = (lease: Lease) => ({ ':holder': S(lease.holder), ':fence': N(lease.fence) })
  const conditional = async (request: () => Promise<unknown>): Promise<boolean> => {
    try {
      await request()
      return true
    } catch (err) {
      if (err instanceof ConditionFailed) return false
      throw err
    }
  }
  return {
    async tryTake(resource, holder, now, until) {
      let fence = 0
      const taken = await conditional(async () => {
        const out = await table.db.call<{ Attributes?: Item }>('UpdateItem', {
          TableName: table.name,
          Key: key(resource),
          UpdateExpression: 'SET #holder = :holder, #until = :until, #ttl = :exp ADD #fence :one',
          ConditionExpression: 'attribute_not_exists(#until) OR #until < :now OR #holder = :holder',
          ExpressionAttributeNames: { ...names, '#ttl': TTL },
          // The counter outlives any one lease by far, so fences keep rising.
          ExpressionAttributeValues: { ':holder': S(holder), ':until': N(until), ':now': N(now), ':one': N(1), ':exp': N(epochSeconds(now) + 30 * 24 * 3600) },
          ReturnValues: 'ALL_NEW',
        })
        fence = num(out.Attributes, 'fence') ?? 0
      })
      return taken ? { resource, holder, fence, until } : undefined
    },
    extend: (lease, now, until) =>
      conditional(() =>
        table.db.call('UpdateItem', {
          TableName: table.name,
          Key: key(lease.resource),
          UpdateExpression: 'SET #until = :until',
          ConditionExpression: '#holder = :holder AND #fence = :fence AND #until >= :now',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: { ...mine(lease), ':until': N(until), ':now': N(now) },
        }),
      ),
    async free(lease) {
      // Already taken over after expiry: nothing of ours to free.
      await conditional(() =>
        table.db.call('UpdateItem', {
          TableName: table.name,
          Key: key(lease.resource),
          UpdateExpression: 'SET #until = :zero',
          ConditionExpression: '#holder = :holder AND #fence = :fence',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: { ...mine(lease), ':zero': N(0) },
        }),
      )
    },
  }
}

function memoryLeaseStore(): LeaseStore {
  const held = new Map<string, { holder: string; fence: number; until: number }>()
  const ours = (lease: Lease) => {
    const cur = held.get(lease.resource)
    return cur && cur.holder === lease.holder && cur.fence === lease.fence ? cur : undefined
  }
  return {
    async tryTake(resource, holder, now, until) {
      const cur = held.get(resource)
      if (cur && cur.until >= now && cur.holder !== holder) return undefined
      const fence = (cur?.fence ?? 0) + 1
      held.set(resource, { holder, fence, until })
      return { resource, holder, fence, until }
    },
    async extend(lease, now, until) {
      const cur = ours(lease)
      if (!cur || cur.until < now) return false
      cur.until = until
      return true
    },
    async free(lease) {
      const cur = ours(lease)
      if (cur) cur.until = 0
    },
  }
}
