/**
 * Our githosted client: the seed code's surface (`new Client({ token,
 * baseUrl })`, `client.repo(slug)`) plus the control-plane calls the broker
 * needs. Every call is a Connect unary JSON POST with a per-call timeout and
 * bounded, jittered retries (see retry.ts for what is retried and why).
 */
import { randomUUID } from 'node:crypto'
import { currentDeadline } from '../deadline.js'
import { ValidationError } from '../errors.js'
import { repoInfo, toPbKind, toPbPermission, tokenRecord } from './mappers.js'
import { capabilitiesFor, type ServerCapabilities } from './capabilities.js'
import { Repo, type Rpc, type VerifyMode } from './repo.js'
import { withRetry, type CallSafety, type RetryDeps } from './retry.js'
import { sharedNodeTransport } from './node-transport.js'
import { DEFAULT_MAX_BODY_BYTES, fetchTransport, type Transport } from './transport.js'
import { unaryCall, type CallConfig } from './unary-call.js'
import type {
  ClientOptions,
  CreateTokenInput,
  ExchangeTokenInput,
  GithostedClient,
  IssuedToken,
  RepoHandle,
  RepoInfo,
  RetryOptions,
  TokenRecord,
} from './types.js'

export const DEFAULT_BASE_URL = 'https://api.githosted.dev'
export const DEFAULT_CLIENT_NAME = 'githosted-ci-broker'
export const DEFAULT_TIMEOUT_MS = 10_000

/** ClientOptions plus seams for tests (kept out of the public contract). */
export interface ClientConfig extends ClientOptions {
  sleep?: (ms: number) => Promise<void>
  random?: () => number
  now?: () => number
  requestId?: () => string
  /** Replaces the wire (wins over `fetch`). */
  transport?: Transport
  /** Response body cap; default 32 MiB. */
  maxResponseBytes?: number
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v.trim() === '' ? undefined : v.trim()
}

export class Client implements GithostedClient {
  /** Where calls go (no trailing slash). */
  readonly baseUrl: string
  // Private fields: the token never shows up in inspect output or JSON.stringify.
  readonly #call: CallConfig
  readonly #retry: RetryOptions | undefined
  readonly #deps: RetryDeps
  readonly #caps: ServerCapabilities
  readonly #verify: VerifyMode

  constructor(options: ClientConfig = {}) {
    this.baseUrl = (
      nonEmpty(options.baseUrl) ??
      nonEmpty(process.env.GITHOSTED_URL) ??
      DEFAULT_BASE_URL
    ).replace(/\/+$/, '')
    this.#call = {
      baseUrl: this.baseUrl,
      token: nonEmpty(options.token) ?? nonEmpty(process.env.GITHOSTED_TOKEN),
      timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      clientName: nonEmpty(options.clientName)?.toLowerCase() ?? DEFAULT_CLIENT_NAME,
      // An injected fetch (tests, instrumentation) wins; otherwise node:http with keep-alive.
      transport:
        options.transport ?? (options.fetch ? fetchTransport(options.fetch) : sharedNodeTransport()),
      maxResponseBytes: options.maxResponseBytes ?? DEFAULT_MAX_BODY_BYTES,
      requestId: options.requestId ?? (() => `req_${randomUUID()}`),
    }
    this.#retry = options.retry
    this.#deps = {
      sleep: options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))),
      random: options.random ?? Math.random,
      now: options.now ?? Date.now,
    }
    this.#verify = options.verifyExpectedHead ?? 'auto'
    this.#caps = capabilitiesFor(this.baseUrl)
  }

  /** What this client (and every other one for the same base URL) has learned about the server. */
  get capabilities(): Readonly<ServerCapabilities> {
    return this.#caps
  }

  readonly #rpc: Rpc = (procedure, input, decode, safety) => {
    const call = () => {
      // Inside a request budget, no call may outlive it.
      const deadline = currentDeadline()
      if (!deadline) return unaryCall(this.#call, procedure, input, decode, safety === 'idempotent')
      const left = deadline.remainingMs()
      if (left <= 0) throw deadline.exceeded(`no time left to call githosted ${procedure}`)
      const cfg = { ...this.#call, timeoutMs: Math.min(this.#call.timeoutMs, left) }
      return unaryCall(cfg, procedure, input, decode, safety === 'idempotent')
    }
    return withRetry(call, safety, this.#retry, this.#deps)
  }

  /**
   * Mints a token (needs a write gw_). Defaults: kind 'repo' when an allowlist
   * is given (an allowlist means nothing on a workspace token), else
   * 'workspace'; permission 'write' (githosted's SDK default); no expiry.
   */
  async createToken(input: CreateTokenInput): Promise<IssuedToken> {
    const kind = input.kind ?? ((input.repoAllowlist?.length ?? 0) > 0 ? 'repo' : 'workspace')
    return this.#rpc(
      '/githosted.v1.ApiService/CreateToken',
      {
        name: input.name,
        kind: toPbKind(kind),
        permission: toPbPermission(input.permission ?? 'write'),
        repoAllowlist: input.repoAllowlist ?? [],
        ttlHours: input.ttlHours ?? 0,
      },
      (res) => ({ token: res.string('token'), record: tokenRecord(res.message('record')) }),
      'write',
    )
  }

  /** Mints a short-lived repo token (gr_) from a write gw_. Permission defaults to 'read'. */
  async exchangeToken(input: ExchangeTokenInput): Promise<IssuedToken> {
    if (input.repoAllowlist.length === 0) {
      throw new ValidationError('repoAllowlist must name at least one repo', 'repoAllowlist')
    }
    return this.#rpc(
      '/githosted.v1.ApiService/ExchangeToken',
      {
        repoAllowlist: input.repoAllowlist,
        permission: toPbPermission(input.permission ?? 'read'),
        ttlSeconds: input.ttlSeconds ?? 0,
        subject: input.subject ?? '',
      },
      (res) => ({ token: res.string('token'), record: tokenRecord(res.message('record')) }),
      'write',
    )
  }

  async revokeToken(tokenId: string): Promise<void> {
    const procedure = '/githosted.v1.ApiService/RevokeToken'
    await this.#rpc(procedure, { tokenId }, () => undefined, 'idempotent')
  }

  async listTokens(
    options: { pageSize?: number; pageToken?: string } = {},
  ): Promise<{ tokens: TokenRecord[]; nextPageToken?: string }> {
    return this.#rpc(
      '/githosted.v1.ApiService/ListTokens',
      { pageSize: options.pageSize ?? 0, pageToken: options.pageToken ?? '' },
      (res) => {
        const tokens = res.messages('tokens').map((t) => tokenRecord(t))
        const nextPageToken = res.string('nextPageToken')
        return nextPageToken ? { tokens, nextPageToken } : { tokens }
      },
      'idempotent',
    )
  }

  /** Not retried after an ambiguous failure: a repeat would answer already_exists. */
  async createRepo(input: { name: string; slug?: string }): Promise<RepoInfo> {
    return this.#rpc(
      '/githosted.v1.RepoService/CreateRepo',
      { name: input.name, slug: input.slug ?? '' },
      (res) => repoInfo(res.message('repo')),
      'write',
    )
  }

  repo(slugOrId: string): RepoHandle {
    return new Repo(slugOrId, this.#rpc, this.#caps, this.#verify)
  }
}
