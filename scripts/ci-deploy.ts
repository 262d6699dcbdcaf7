/**
 * A deploy CLI for any CI:
 *
 *   npm run ci-deploy -- --broker https://broker.example.com --repo deploy-configs \
 *     --environment staging --image ghcr.io/acme/app:1.4.2
 *
 * Credential (first that applies): --oidc-env NAME (GitLab `id_tokens` or any
 * CI exposing an ID token), GitHub Actions' OIDC endpoint (job needs
 * `permissions: id-token: write`), or a broker key in $BROKER_KEY
 * (--broker-key-env NAME). Options:
 *
 *   --image REF | --set /pointer=JSON (repeatable)   the change
 *   --rollback [--to SHA]                            roll back instead (image, or --set keys)
 *   --idempotency-key K     default: derived from the CI run attempt and environment
 *   --dry-run               print the diff, write nothing
 *   --override-hold         deploy into a held environment (where the policy allows)
 *   --reason TEXT           recorded in the commit trailers
 *   --audience AUD          OIDC audience (default githosted-ci-broker)
 *   --via broker|direct     broker (default): POST /v1/deploys — the broker checks
 *                           the policy's deploy environments and writes with a
 *                           scoped token. direct: get a gr_ write token from the
 *                           broker (POST /v1/tokens or /ci/token) and apply the
 *                           change from this job with the same deploy core
 *                           (needs --githosted-url or GITHOSTED_URL).
 *
 * Prints the result as JSON on stdout; exits 0 on success (including "already
 * in place"), 1 on failure (the error message on stderr), 2 on bad usage.
 * Credentials are never printed.
 */
import { resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { fileURLToPath } from 'node:url'
import { applyConfigUpdate } from '../functions/lib/deploys/apply.js'
import { Client } from '../functions/lib/githosted/index.js'
import { ciRunUrl, defaultIdempotencyKey, findCredential, type Credential, type Env } from './ci-env.js'

export interface Io {
  out: (line: string) => void
  err: (line: string) => void
  fetch?: typeof fetch
  sleep?: (ms: number) => Promise<void>
}

class UsageError extends Error {}

export const USAGE = `usage: npm run ci-deploy -- --broker URL --repo SLUG --environment ENV (--image REF | --set /pointer=JSON ... | --rollback [--to SHA])
  [--idempotency-key K] [--dry-run] [--override-hold] [--reason TEXT] [--audience AUD]
  [--oidc-env NAME] [--broker-key-env NAME] [--via broker|direct] [--githosted-url URL]

Credential, first that applies: the ID token in $NAME (--oidc-env; GitLab id_tokens), GitHub
Actions' OIDC endpoint (permissions: id-token: write), or a broker key in $BROKER_KEY.
--via broker (default) asks the broker to deploy (POST /v1/deploys); --via direct gets a
repo-scoped token from the broker and applies the change from this job.
Prints the result as JSON; exit 0 on success or "already in place", 1 on failure, 2 on bad usage.`

interface Options {
  broker: string
  repo: string
  environment: string
  image?: string
  set?: Record<string, unknown>
  rollback: boolean
  to?: string
  idempotencyKey?: string
  dryRun: boolean
  overrideHold: boolean
  reason?: string
  audience: string
  oidcEnv?: string
  brokerKeyEnv?: string
  via: 'broker' | 'direct'
  githostedUrl?: string
}

function parse(argv: string[], env: Env): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      broker: { type: 'string' },
      repo: { type: 'string' },
      environment: { type: 'string' },
      image: { type: 'string' },
      set: { type: 'string', multiple: true },
      rollback: { type: 'boolean' },
      to: { type: 'string' },
      'idempotency-key': { type: 'string' },
      'dry-run': { type: 'boolean' },
      'override-hold': { type: 'boolean' },
      reason: { type: 'string' },
      audience: { type: 'string' },
      'oidc-env': { type: 'string' },
      'broker-key-env': { type: 'string' },
      via: { type: 'string' },
      'githosted-url': { type: 'string' },
    },
    strict: true,
  })
  const broker = values.broker ?? env.BROKER_URL
  if (!broker || !URL.canParse(broker)) throw new UsageError('--broker URL (or BROKER_URL) is required.')
  if (!values.repo) throw new UsageError('--repo is required.')
  if (!values.environment) throw new UsageError('--environment is required.')
  let set: Record<string, unknown> | undefined
  for (const s of values.set ?? []) {
    const eq = s.indexOf('=')
    if (eq <= 0) throw new UsageError(`--set ${s}: expected /pointer=JSON, e.g. /replicas=3 or '/image="app:1"'.`)
    const raw = s.slice(eq + 1)
    let value: unknown
    try {
      value = JSON.parse(raw)
    } catch {
      value = raw // a bare word is a string: --set /image=app:1
    }
    set = { ...set, [s.slice(0, eq)]: value }
  }
  const rollback = values.rollback ?? false
  if (!rollback && (values.image === undefined) === (set === undefined)) throw new UsageError('Give exactly one of --image or --set (or --rollback).')
  if (rollback && values.image !== undefined) throw new UsageError('--rollback takes --to SHA (and --set keys), not --image.')
  const via = values.via ?? 'broker'
  if (via !== 'broker' && via !== 'direct') throw new UsageError('--via must be broker or direct.')
  if (via === 'direct' && rollback) throw new UsageError('--rollback goes through the broker (--via broker).')
  return {
    broker: broker.replace(/\/+$/, ''),
    repo: values.repo,
    environment: values.environment,
    ...(values.image !== undefined ? { image: values.image } : {}),
    ...(set ? { set } : {}),
    rollback,
    ...(values.to ? { to: values.to } : {}),
    idempotencyKey: values['idempotency-key'] ?? defaultIdempotencyKey(env, values.environment),
    dryRun: values['dry-run'] ?? false,
    overrideHold: values['override-hold'] ?? false,
    ...(values.reason ? { reason: values.reason } : {}),
    audience: values.audience ?? 'githosted-ci-broker',
    ...(values['oidc-env'] ? { oidcEnv: values['oidc-env'] } : {}),
    ...(values['broker-key-env'] ? { brokerKeyEnv: values['broker-key-env'] } : {}),
    via,
    githostedUrl: values['githosted-url'] ?? env.GITHOSTED_URL,
  }
}

/** POST with retries on network errors and 5xx/429 (same idempotency key, so a retry is a replay). */
async function postJson(io: Io, url: string, credential: Credential, body: unknown): Promise<{ status: number; text: string; type: string }> {
  const f = io.fetch ?? fetch
  const sleep = io.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)))
  let last: unknown
  for (let attempt = 0; attempt < 4; attempt++) {
    if (attempt > 0) await sleep(500 * 2 ** attempt * (0.5 + Math.random()))
    try {
      const res = await f(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${credential.value}`, 'user-agent': 'githosted-ci-deploy/0.1' },
        body: JSON.stringify(body),
      })
      const text = await res.text()
      if ((res.status >= 500 || res.status === 429) && attempt < 3) {
        last = new Error(`HTTP ${res.status}`)
        continue
      }
      return { status: res.status, text, type: res.headers.get('content-type') ?? '' }
    } catch (err) {
      last = err
    }
  }
  throw new Error(`The broker at ${new URL(url).origin} did not answer: ${last instanceof Error ? last.message : String(last)}`)
}

function problemMessage(status: number, text: string): string {
  try {
    const p = JSON.parse(text) as { detail?: string; code?: string }
    if (p.detail) return `${p.detail} (${p.code ?? 'HTTP ' + status})`
  } catch {
    // not JSON: fall through
  }
  return `HTTP ${status}: ${text.trim().slice(0, 300)}`
}

async function viaBroker(o: Options, credential: Credential, io: Io): Promise<unknown> {
  const body = o.rollback
    ? { repo: o.repo, environment: o.environment, ...(o.to ? { to: o.to } : {}), ...(o.set ? { keys: Object.keys(o.set) } : {}) }
    : { repo: o.repo, environment: o.environment, ...(o.image !== undefined ? { image: o.image } : { set: o.set }) }
  const res = await postJson(io, `${o.broker}/v1/deploys${o.rollback ? '/rollback' : ''}`, credential, {
    ...body,
    ...(o.idempotencyKey ? { idempotencyKey: o.idempotencyKey } : {}),
    ...(o.dryRun ? { dryRun: true } : {}),
    ...(o.overrideHold ? { overrideHold: true } : {}),
    ...(o.reason ? { reason: o.reason } : {}),
  })
  if (res.status !== 200) throw new Error(problemMessage(res.status, res.text))
  return JSON.parse(res.text)
}

async function viaDirect(o: Options, credential: Credential, env: Env, io: Io): Promise<unknown> {
  if (!o.githostedUrl) throw new UsageError('--via direct needs --githosted-url (or GITHOSTED_URL).')
  let token: string
  if (credential.kind === 'oidc') {
    const res = await postJson(io, `${o.broker}/v1/tokens`, credential, { repos: [o.repo], permission: 'write', ttl: '15m' })
    if (res.status !== 201 && res.status !== 200) throw new Error(problemMessage(res.status, res.text))
    token = (JSON.parse(res.text) as { token: string }).token
  } else {
    // The seed-compatible endpoint: the body is the bare token.
    const res = await postJson(io, `${o.broker}/ci/token`, credential, { repo: o.repo, ttl: '15m' })
    if (res.status !== 200) throw new Error(res.text.trim().slice(0, 300) || `HTTP ${res.status}`)
    token = res.text.trim()
  }
  const client = new Client({ token, baseUrl: o.githostedUrl, clientName: 'githosted-ci-deploy' })
  const runUrl = ciRunUrl(env)
  return applyConfigUpdate(
    { repo: client.repo(o.repo), repoName: o.repo },
    {
      environment: o.environment,
      change: o.image !== undefined ? { image: o.image } : { set: o.set! },
      source: 'ci-job',
      requester: credential.kind === 'broker-key' ? `key-env:${credential.source}` : `oidc:${credential.source}`,
      ...(runUrl ? { runUrl } : {}),
      ...(o.idempotencyKey ? { idempotencyKey: o.idempotencyKey } : {}),
      dryRun: o.dryRun,
      ...(o.reason ? { reason: o.reason } : {}),
    },
  )
}

/** Runs the CLI; returns the exit code. */
export async function ciDeploy(argv: string[], env: Env, io: Io): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    io.out(USAGE)
    return 0
  }
  let o: Options
  try {
    o = parse(argv, env)
  } catch (err) {
    io.err(`ci-deploy: ${err instanceof Error ? err.message : String(err)}\n\n${USAGE}`)
    return 2
  }
  try {
    const credential = await findCredential(env, {
      audience: o.audience,
      ...(o.oidcEnv ? { oidcEnv: o.oidcEnv } : {}),
      ...(o.brokerKeyEnv ? { brokerKeyEnv: o.brokerKeyEnv } : {}),
      ...(io.fetch ? { fetch: io.fetch } : {}),
    })
    const result = (o.via === 'broker' ? await viaBroker(o, credential, io) : await viaDirect(o, credential, env, io)) as Record<string, unknown>
    io.out(JSON.stringify(result, null, 2))
    const what = result.dryRun ? 'dry run' : result.changed ? `committed ${String(result.commit).slice(0, 12)}` : result.skipped ? `skipped (${result.reason})` : 'already in place'
    io.err(`ci-deploy: ${o.repo}/${o.environment}: ${what}`)
    return 0
  } catch (err) {
    io.err(`ci-deploy: ${err instanceof Error ? err.message : String(err)}`)
    return err instanceof UsageError ? 2 : 1
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  ciDeploy(process.argv.slice(2), process.env, { out: (l) => console.log(l), err: (l) => console.error(l) }).then((code) => process.exit(code))
}
