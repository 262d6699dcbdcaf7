import { execFileSync } from 'node:child_process'
import { createClient, type Client, type Interceptor } from '@connectrpc/connect'
import { createConnectTransport } from '@connectrpc/connect-node'
import { ApiService } from '../../../functions/lib/githosted/gen/githosted/v1/api_pb.js'
import { RepoService } from '../../../functions/lib/githosted/gen/githosted/v1/repo_pb.js'

/** Every wire combination the local server must serve. */
export const VARIANTS = [
  { name: 'HTTP/1.1 JSON', httpVersion: '1.1', useBinaryFormat: false },
  { name: 'HTTP/1.1 binary', httpVersion: '1.1', useBinaryFormat: true },
  { name: 'HTTP/2 JSON', httpVersion: '2', useBinaryFormat: false },
  { name: 'HTTP/2 binary', httpVersion: '2', useBinaryFormat: true },
] as const

export type Variant = (typeof VARIANTS)[number]

function bearer(token: string): Interceptor {
  return (next) => (req) => {
    req.header.set('authorization', `Bearer ${token}`)
    return next(req)
  }
}

function transport(url: string, token: string, v: Variant = VARIANTS[0]) {
  return createConnectTransport({
    baseUrl: url,
    httpVersion: v.httpVersion,
    useBinaryFormat: v.useBinaryFormat,
    interceptors: [bearer(token)],
  })
}

/** connect-es's generic client for RepoService (not our product client). */
export function repoClient(url: string, token: string, v?: Variant): Client<typeof RepoService> {
  return createClient(RepoService, transport(url, token, v))
}

export function apiClient(url: string, token: string, v?: Variant): Client<typeof ApiService> {
  return createClient(ApiService, transport(url, token, v))
}

export const enc = (s: string): Uint8Array => new TextEncoder().encode(s)
export const dec = (b: Uint8Array): string => new TextDecoder().decode(b)

/** Runs the git CLI against a bare repo and returns trimmed stdout. */
export function git(gitdir: string, ...args: string[]): string {
  return execFileSync('git', ['--git-dir', gitdir, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim()
}

/** A raw Connect call with fetch (HTTP/1.1); returns status and the parsed JSON body. */
export async function rawCall(
  url: string,
  procedure: string,
  body: string | Uint8Array,
  opts: { token?: string; contentType?: string } = {},
): Promise<{ status: number; json: Record<string, unknown> }> {
  const headers: Record<string, string> = { 'content-type': opts.contentType ?? 'application/json' }
  if (opts.token) headers.authorization = `Bearer ${opts.token}`
  const res = await fetch(`${url}${procedure}`, { method: 'POST', headers, body: body as BodyInit })
  const text = await res.text()
  return { status: res.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} }
}

/** Token shape check that never puts the secret into an assertion message. */
export function looksLikeToken(prefix: 'gw' | 'gr', token: string | undefined): boolean {
  return token !== undefined && new RegExp(`^${prefix}_[A-Za-z0-9]{40}$`).test(token)
}
