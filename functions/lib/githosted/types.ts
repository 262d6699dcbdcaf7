/**
 * The public surface of our githosted client: the shape the seed code uses
 * (`new Client({ token, baseUrl })`, `client.repo(slug).read/write/...`) plus
 * the control-plane calls the broker needs. Everything else in the product
 * depends on these types, not on the implementation, so apps can take a
 * client factory as an injected dependency.
 */
export type Permission = 'read' | 'write'
export type TokenKind = 'workspace' | 'repo'

export interface RetryOptions {
  /** Attempts after the first one. Default 4. */
  maxRetries?: number
  /** First backoff, doubled per attempt with full jitter. Default 100 ms. */
  baseDelayMs?: number
  /** Give up once this much time has passed since the first attempt. Default 5 s. */
  maxTotalMs?: number
}

export interface ClientOptions {
  /** Falls back to GITHOSTED_TOKEN. */
  token?: string
  /** Falls back to GITHOSTED_URL, then https://api.githosted.dev. */
  baseUrl?: string
  /** Per-call timeout. Default 10 s. */
  timeoutMs?: number
  /** Sent as X-Githosted-Client, trimmed and lower-cased. */
  clientName?: string
  retry?: RetryOptions
  /**
   * Injected fetch (tests, instrumentation). Default: node:http / node:https with a shared
   * keep-alive agent (node-transport.ts), which costs less CPU per call than fetch.
   */
  fetch?: typeof fetch
  /**
   * Whether to check after a write with `expectedHead` that the new commit's
   * parent is the expected head (for servers that ignore `expectedHead`).
   * 'auto' (default) checks until the server has shown it supports the
   * concurrency extensions (a read returned `headSha`).
   */
  verifyExpectedHead?: 'auto' | 'always' | 'never'
}

export interface TokenRecord {
  id: string
  prefix: string
  name: string
  kind: TokenKind
  permission: Permission
  repoAllowlist: string[]
  createdAt?: Date
  expiresAt?: Date
  revokedAt?: Date
  lastUsedAt?: Date
}

export interface IssuedToken {
  /** The secret. Returned once; never log it. */
  token: string
  record: TokenRecord
}

export interface CreateTokenInput {
  name: string
  kind?: TokenKind
  permission?: Permission
  repoAllowlist?: string[]
  /** 0 = never expires. */
  ttlHours?: number
}

export interface ExchangeTokenInput {
  repoAllowlist: string[]
  /** Default 'read', as githosted's SDKs. */
  permission?: Permission
  /** 0 = server default (1 h); the server clamps to 24 h. */
  ttlSeconds?: number
  /** Opaque caller identity for githosted's audit. */
  subject?: string
}

export interface RepoInfo {
  id: string
  workspaceId: string
  name: string
  slug: string
  defaultBranch: string
  createdAt?: Date
}

export interface FileEntry {
  name: string
  /** Path relative to the repo root. */
  path: string
  type: 'file' | 'directory'
}

export interface FileContent {
  path: string
  /** UTF-8 decoded content. */
  content: string
  rawContent: Uint8Array
  /** The commit the file was read at (learned from Log where the server omits it). */
  headSha: string
  /** Git blob id of the content. */
  blobSha: string
}

export interface WriteOptions {
  message: string
  /** Branch to write; empty = default branch. */
  branch?: string
  /** Refuse unless the branch tip is this commit. */
  expectedHead?: string
  authorName?: string
  authorEmail?: string
}

export interface WriteResult {
  branch: string
  commit: string
}

export interface CommitInfo {
  sha: string
  authorName: string
  authorEmail: string
  committedAt?: Date
  /** First line of the message, as githosted returns it. */
  subject: string
  /** Full message where the server returns it (our `Commit.message` extension); else undefined. */
  message?: string
}

export interface BranchInfo {
  name: string
  commit: string
  isDefault: boolean
}

export interface RepoHandle {
  readonly ref: string
  ls(path?: string, options?: { ref?: string }): Promise<FileEntry[]>
  read(path: string, options?: { ref?: string }): Promise<FileContent>
  write(path: string, content: string | Uint8Array, options: WriteOptions): Promise<WriteResult>
  delete(path: string, options: WriteOptions): Promise<WriteResult>
  log(options?: { ref?: string; path?: string; limit?: number }): Promise<CommitInfo[]>
  diff(base: string, head: string, options?: { path?: string }): Promise<string>
  listBranches(): Promise<BranchInfo[]>
}

export interface GithostedClient {
  createToken(input: CreateTokenInput): Promise<IssuedToken>
  exchangeToken(input: ExchangeTokenInput): Promise<IssuedToken>
  revokeToken(tokenId: string): Promise<void>
  listTokens(options?: { pageSize?: number; pageToken?: string }): Promise<{
    tokens: TokenRecord[]
    nextPageToken?: string
  }>
  createRepo(input: { name: string; slug?: string }): Promise<RepoInfo>
  repo(slugOrId: string): RepoHandle
}

/** How apps get a client for a given token; injected so tests and `npm start` pass local ones. */
export type GithostedClientFactory = (token: string) => GithostedClient
