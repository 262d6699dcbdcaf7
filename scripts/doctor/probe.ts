/**
 * What the broker needs to know about a githosted before it is pointed at
 * one: each capability probed with the server's own answers (raw Connect
 * JSON calls over the product's transport, so HTTP/2-only servers are
 * reached the way the broker reaches them), and what the broker does about
 * each answer.
 *
 * Writes are kept to a minimum: with no repo named, a scratch repo is created
 * and deleted at the end; with `--repo`, the only write attempted carries a
 * stale `expectedHead` and the file's current content, so a server that
 * enforces or rejects the field writes nothing, and one that ignores it
 * makes a commit that changes no file (a no-op, reported as such).
 */
import { randomBytes } from 'node:crypto'
import { sharedNodeTransport, type NodeTransport } from '../../functions/lib/githosted/node-transport.js'

export interface DoctorOptions {
  url: string
  token: string
  /** Probe this repo (guarded no-op write) instead of a scratch repo. */
  repo?: string
  transport?: NodeTransport
  timeoutMs?: number
}

export type Verdict = 'ok' | 'adapted' | 'unsafe'

export interface Check {
  name: string
  observed: string
  broker: string
  verdict: Verdict
}

export interface DoctorReport {
  url: string
  checks: Check[]
  /** False when the broker cannot work safely against this server. */
  safe: boolean
}

interface Answer {
  status: number
  code?: string
  message?: string
  body: Record<string, unknown>
}

const STALE_HEAD = '0'.repeat(40)
const WRITES = new Set(['RepoService/CreateRepo', 'RepoService/DeleteRepo', 'RepoService/WriteFile', 'RepoService/DeleteFile', 'ApiService/ExchangeToken', 'ApiService/RevokeToken'])

function rpc(opts: DoctorOptions, transport: NodeTransport) {
  const base = opts.url.replace(/\/+$/, '')
  return async (procedure: string, body: Record<string, unknown>): Promise<Answer> => {
    const res = await transport({
      url: `${base}/githosted.v1.${procedure}`,
      headers: {
        'content-type': 'application/json',
        'connect-protocol-version': '1',
        authorization: `Bearer ${opts.token}`,
        'x-githosted-client': 'githosted-ci-broker-doctor',
      },
      body: JSON.stringify(body),
      timeoutMs: opts.timeoutMs ?? 10_000,
      maxBodyBytes: 4 * 1024 * 1024,
      // Writes are never resent by the transport; the probes' reads may be (e.g. on the switch to HTTP/2).
      idempotent: !WRITES.has(procedure),
    })
    let json: Record<string, unknown> = {}
    try {
      json = res.text.trim() === '' ? {} : (JSON.parse(res.text) as Record<string, unknown>)
    } catch {
      json = {}
    }
    if (res.status === 200) return { status: 200, body: json }
    return {
      status: res.status,
      code: typeof json.code === 'string' ? json.code : `http_${res.status}`,
      message: typeof json.message === 'string' ? json.message.slice(0, 200) : '',
      body: json,
    }
  }
}

const b64 = (s: string) => Buffer.from(s).toString('base64')

/** Runs every probe; never throws for a server answer, only reports it. */
export async function runDoctor(opts: DoctorOptions): Promise<DoctorReport> {
  const transport = opts.transport ?? sharedNodeTransport()
  const call = rpc(opts, transport)
  const checks: Check[] = []
  const add = (name: string, observed: string, broker: string, verdict: Verdict) => checks.push({ name, observed, broker, verdict })
  const done = (): DoctorReport => ({ url: opts.url, checks, safe: checks.every((c) => c.verdict !== 'unsafe') })

  // 1. Reachability, HTTP version, authentication (ListTokens needs a gw_; any non-auth answer proves the token).
  let who: Answer
  try {
    who = await call('ApiService/ListTokens', { pageSize: 1 })
  } catch (err) {
    const code = (err as { code?: string }).code ?? (err as Error).name
    add('reachable', `no answer (${code})`, 'cannot work: fix the URL or the network', 'unsafe')
    return done()
  }
  const origin = new URL(opts.url).origin
  const version = transport.protocolOf(origin) ?? 'unknown'
  add('reachable', `yes, HTTP/${version}`, version === '2' ? 'speaks HTTP/2 (h2c or ALPN), learned on the first call' : 'HTTP/1.1 keep-alive', 'ok')
  if (who.code === 'unauthenticated') {
    add('token', `refused (unauthenticated: ${who.message})`, 'cannot work: the workspace token is not accepted', 'unsafe')
    return done()
  }
  const workspaceWriter = who.status === 200
  add(
    'token',
    workspaceWriter ? 'accepted, workspace (gw_)' : `accepted, but ListTokens answered ${who.code}`,
    workspaceWriter ? 'mints scoped tokens with it' : 'cannot mint tokens: the broker needs a write gw_ token',
    workspaceWriter ? 'ok' : 'unsafe',
  )

  // 2. A repo to probe: the one named, or a scratch repo.
  let slug = opts.repo
  let scratch = false
  if (!slug) {
    slug = `broker-doctor-${randomBytes(4).toString('hex')}`
    const created = await call('RepoService/CreateRepo', { name: slug, slug })
    if (created.status !== 200) {
      add('scratch repo', `CreateRepo answered ${created.code}: ${created.message}`, 'name a repo with --repo to probe it instead', 'unsafe')
      return done()
    }
    scratch = true
    const seeded = await call('RepoService/WriteFile', { repoRef: slug, path: 'probe.json', content: b64('{}\n'), message: 'broker doctor: scratch file' })
    if (seeded.status !== 200) {
      add('write', `WriteFile answered ${seeded.code}: ${seeded.message}`, 'cannot deploy: writes fail', 'unsafe')
      await call('RepoService/DeleteRepo', { repoRef: slug })
      return done()
    }
  }

  try {
    await probeRepo(call, slug, scratch, add)
  } finally {
    if (scratch) {
      const removed = await call('RepoService/DeleteRepo', { repoRef: slug })
      if (removed.status !== 200) add('cleanup', `DeleteRepo answered ${removed.code}; delete ${slug} by hand`, '-', 'adapted')
    }
  }

  // ExchangeToken: a 1-minute read token on the probed repo, revoked at once.
  const exchanged = await call('ApiService/ExchangeToken', { repoAllowlist: [slug], permission: 'PERMISSION_READ', ttlSeconds: 60, subject: 'broker-doctor' })
  if (exchanged.status === 200) {
    const record = exchanged.body.record as { id?: string } | undefined
    if (record?.id) await call('ApiService/RevokeToken', { tokenId: record.id })
    add('ExchangeToken', 'implemented', 'mints gr_ tokens with second-level TTLs', 'ok')
  } else if (exchanged.code === 'unimplemented') {
    add('ExchangeToken', 'unimplemented', 'falls back to CreateToken: TTLs in whole hours (shorter requests refused if the policy max is lower)', 'adapted')
  } else {
    add('ExchangeToken', `answered ${exchanged.code}: ${exchanged.message}`, 'cannot mint tokens', 'unsafe')
  }
  return done()
}

async function probeRepo(
  call: (procedure: string, body: Record<string, unknown>) => Promise<Answer>,
  slug: string,
  scratch: boolean,
  add: (name: string, observed: string, broker: string, verdict: Verdict) => void,
): Promise<void> {
  // Log: the tip, and whether commits carry the full message.
  const log = await call('RepoService/Log', { repoRef: slug, limit: 1 })
  const tip = ((log.body.commits as Array<Record<string, unknown>> | undefined) ?? [])[0]
  if (log.status !== 200 || !tip || typeof tip.hash !== 'string') {
    add('Log', `answered ${log.code ?? 'no commits'}: ${log.message ?? ''}`, 'cannot deploy: the head and the parent check come from Log', 'unsafe')
    return
  }
  const fullMessages = typeof tip.message === 'string' && tip.message !== ''
  add(
    'Commit.message',
    fullMessages ? 'present' : 'absent (subjects only)',
    fullMessages ? 'reads idempotency keys and event order from commit trailers' : 'subjects carry a base marker; idempotency and ordering fall back to content and in-process memory',
    fullMessages ? 'ok' : 'adapted',
  )

  // A file to read and (no-op) write: the scratch file, or the first file at the root or one folder down.
  let path = 'probe.json'
  if (!scratch) {
    const found = await firstFile(call, slug)
    if (!found) {
      add('ReadFile', 'no file at the root or one folder down to probe', 'name a repo with a file near its root', 'unsafe')
      return
    }
    path = found
  }
  const read = await call('RepoService/ReadFile', { repoRef: slug, path, ref: tip.hash })
  if (read.status !== 200) {
    add('ReadFile', `answered ${read.code}: ${read.message}`, 'cannot deploy', 'unsafe')
    return
  }
  const headSha = typeof read.body.headSha === 'string' && read.body.headSha !== ''
  add(
    'headSha on reads',
    headSha ? 'returned' : 'absent',
    headSha ? 'uses it; no extra Log call per read' : 'learns the head from Log and reads at that commit',
    headSha ? 'ok' : 'adapted',
  )

  // expectedHead: a write with a stale head and the file's own content.
  const content = typeof read.body.content === 'string' ? read.body.content : ''
  const guarded = await call('RepoService/WriteFile', {
    repoRef: slug,
    path,
    content,
    message: 'broker doctor: expectedHead probe (no change)',
    expectedHead: STALE_HEAD,
  })
  if (guarded.code === 'failed_precondition') {
    add('expectedHead', 'enforced (stale head refused)', 'relies on it, with a per-repo write lease', 'ok')
  } else if (guarded.code === 'invalid_argument' && /expected_?head/i.test(guarded.message ?? '')) {
    add('expectedHead', 'rejected as an unknown field', 'writes without it after the first refusal; lease + after-the-fact parent check + repair', 'adapted')
  } else if (guarded.status === 200) {
    const commit = typeof guarded.body.commit === 'string' ? guarded.body.commit.slice(0, 12) : '?'
    add('expectedHead', `ignored (a no-op commit ${commit} was made)`, 'lease + pre-check + after-the-fact parent check + repair', 'adapted')
  } else {
    add('expectedHead', `write answered ${guarded.code}: ${guarded.message}`, 'cannot deploy: writes fail', 'unsafe')
  }

  // DeleteFile: a path that does not exist (not_found proves the RPC exists; nothing is deleted).
  const missing = `.broker-doctor-${randomBytes(4).toString('hex')}/none.json`
  const del = await call('RepoService/DeleteFile', { repoRef: slug, path: missing, message: 'broker doctor: DeleteFile probe' })
  if (del.code === 'unimplemented') {
    add('DeleteFile', 'unimplemented', 'releases a hold by writing {"state": "released"} into the hold file', 'adapted')
  } else {
    add('DeleteFile', `implemented (${del.status === 200 ? 'ok' : del.code})`, 'releases a hold by deleting the hold file', 'ok')
  }

  const branches = await call('RepoService/ListBranches', { repoRef: slug })
  if (branches.code === 'unimplemented') {
    add('ListBranches', 'unimplemented', 'not needed: the broker reads the default branch through Log', 'adapted')
  } else {
    add('ListBranches', branches.status === 200 ? 'implemented' : `answered ${branches.code}`, 'not needed by the broker', 'ok')
  }
}

async function firstFile(call: (procedure: string, body: Record<string, unknown>) => Promise<Answer>, slug: string): Promise<string | undefined> {
  const list = async (dir: string) => {
    const ls = await call('RepoService/ListFiles', { repoRef: slug, path: dir })
    return (ls.body.entries as Array<{ name?: string; type?: string }> | undefined) ?? []
  }
  const root = await list('')
  const file = root.find((e) => e.type !== 'tree' && e.name)
  if (file?.name) return file.name
  for (const dir of root.filter((e) => e.type === 'tree' && e.name).slice(0, 3)) {
    const inner = (await list(dir.name!)).find((e) => e.type !== 'tree' && e.name)
    if (inner?.name) return `${dir.name}/${inner.name}`
  }
  return undefined
}

/** The report as an aligned text table. */
export function formatReport(report: DoctorReport): string {
  const rows = [['check', 'observed', 'verdict', 'what the broker does'], ...report.checks.map((c) => [c.name, c.observed, c.verdict, c.broker])]
  const widths = [0, 1, 2].map((i) => Math.max(...rows.map((r) => r[i]!.length)))
  const line = (r: string[]) => r.map((cell, i) => (i < 3 ? cell.padEnd(widths[i]!) : cell)).join('  ').trimEnd()
  return [
    `githosted at ${report.url}`,
    '',
    line(rows[0]!),
    line([...widths.map((w) => '-'.repeat(w)), '-'.repeat(20)]),
    ...rows.slice(1).map(line),
    '',
    report.safe ? 'OK: the broker can work against this server.' : 'UNSAFE: the broker cannot work safely against this server (see the rows marked unsafe).',
  ].join('\n')
}
