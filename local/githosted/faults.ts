import { Code, ConnectError } from '@connectrpc/connect'

/** Connect code names as they appear on the wire, e.g. 'unavailable', 'resource_exhausted'. */
export type ConnectCodeName =
  | 'canceled' | 'unknown' | 'invalid_argument' | 'deadline_exceeded' | 'not_found'
  | 'already_exists' | 'permission_denied' | 'resource_exhausted' | 'failed_precondition'
  | 'aborted' | 'out_of_range' | 'unimplemented' | 'internal' | 'unavailable' | 'data_loss'
  | 'unauthenticated'

export interface InjectedError {
  code: ConnectCodeName
  /** Probability per call, 0..1. */
  rate: number
  message?: string
}

/** Faults the local server injects; replace them at runtime with `setFaults`. */
export interface FaultOptions {
  /** Added before every call, in ms. */
  latencyMs?: number
  /** Per RPC method name (e.g. 'WriteFile'): fail this share of calls with this code. */
  errors?: Partial<Record<string, InjectedError>>
  /** Force RepoBusy on writes (WriteFile, DeleteFile): the next N, and/or a share of them. */
  repoBusy?: { next?: number; rate?: number }
  /** Keep holding the repo lease this long inside each write (to create real contention). */
  holdWriteMs?: number
  /** How long a write waits for the repo lease before answering RepoBusy. Default 2000. */
  lockWaitMs?: number
  /**
   * Reset the connection AFTER the next N writes (WriteFile/DeleteFile) have
   * landed, instead of answering: the client cannot know the outcome.
   */
  resetAfterWrite?: { next: number }
}

function snakeCase(name: string): string {
  return name.replace(/[A-Z]/g, (c, i: number) => (i ? '_' : '') + c.toLowerCase())
}

const CODE_BY_NAME = new Map<string, Code>(
  Object.entries(Code)
    .filter((e): e is [string, Code] => typeof e[1] === 'number')
    .map(([name, code]) => [snakeCase(name), code]),
)

const DEFAULT_LOCK_WAIT_MS = 2000

function defaultSleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms))
}

/** Applies the current FaultOptions; randomness is injected so tests can seed it. */
export class Faults {
  private opts: FaultOptions = {}
  private busyLeft = 0
  private resetsLeft = 0
  /** Calls seen per RPC method (before any fault), for tests that count what a client sends. */
  readonly calls = new Map<string, number>()

  constructor(
    opts: FaultOptions | undefined,
    private readonly random: () => number,
    private readonly sleep: (ms: number) => Promise<void> = defaultSleep,
  ) {
    this.set(opts ?? {})
  }

  set(opts: FaultOptions): void {
    for (const [method, e] of Object.entries(opts.errors ?? {})) {
      if (e && !CODE_BY_NAME.has(e.code)) throw new Error(`faults.errors.${method}: unknown code ${e.code}`)
    }
    this.opts = { ...opts }
    this.busyLeft = opts.repoBusy?.next ?? 0
    this.resetsLeft = opts.resetAfterWrite?.next ?? 0
  }

  /** Whether this landed write must be answered with a connection reset. */
  takeResetAfterWrite(): boolean {
    if (this.resetsLeft <= 0) return false
    this.resetsLeft--
    return true
  }

  get holdWriteMs(): number {
    return this.opts.holdWriteMs ?? 0
  }

  get lockWaitMs(): number {
    return this.opts.lockWaitMs ?? DEFAULT_LOCK_WAIT_MS
  }

  /** Runs before each call: added latency, then maybe an injected error. */
  async beforeCall(method: string): Promise<void> {
    this.calls.set(method, (this.calls.get(method) ?? 0) + 1)
    const latency = this.opts.latencyMs ?? 0
    if (latency > 0) await this.sleep(latency)
    const injected = this.opts.errors?.[method]
    if (injected && this.random() < injected.rate) {
      throw new ConnectError(
        injected.message ?? `injected fault: ${injected.code}`,
        CODE_BY_NAME.get(injected.code) ?? Code.Unknown,
      )
    }
  }

  /** Whether this write must fail with a forced RepoBusy. */
  takeForcedBusy(): boolean {
    if (this.busyLeft > 0) {
      this.busyLeft--
      return true
    }
    const rate = this.opts.repoBusy?.rate ?? 0
    return rate > 0 && this.random() < rate
  }
}
