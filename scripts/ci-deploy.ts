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
 * Credentials are never printed. `githosted-ci deploy|rollback` (cli/) runs
 * this same code from the packaged bundle.
 */
import { resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { fileURLToPath } from 'node:url'
import { applyConfigUpdate } from '../functions/lib/deploys/apply.js'
import { Client } from '../functions/lib/githosted/index.js'
import { deploy, mintToken, rollback, type BrokerTarget, type DeployResult } from '../cli/broker-api.js'
import { exitCodeFor, UsageError } from '../cli/errors.js'
import { parseBaseUrl, type Fetch } from '../cli/http.js'
import { ciRequester, ciRunUrl, defaultIdempotencyKey, findCredential, type Credential, type Env } from './ci-env.js'

export interface Io {
  out: (line: string) => void
  err: (line: string) => void
  fetch?: Fetch
  sleep?: (ms: number) => Promise<void>
}

export const USAGE = `usage: npm run ci-deploy -- --broker URL --repo SLUG --environment ENV (--image REF | --set /pointer=JSON ... | --rollback [--to SHA])
  [--idempotency-key K] [--dry-run] [--override-hold] [--reason TEXT] [--audience AUD]
  [--oidc-env NAME] [--broker-key-env NAME] [--via broker|direct] [--githosted-url URL]

Credential, first that applies: the ID token in $NAME (--oidc-env; GitLab id_tokens), GitHub
Actions' OIDC endpoint (permissions: id-token: write), or a broker key in $BROKER_KEY.
--via broker (default) asks the broker to deploy (POST /v1/deploys); --via direct gets a
repo-scoped token from the broker and applies the change from this job.
Prints the result as JSON; exit 0 on success or "already in place", 1 on failure, 2 on bad usage.`

/** How the deploy command presents itself: `npm run ci-deploy` (always JSON) or `githosted-ci deploy`. */
export interface DeployCommand {
  prog: string
  usage: string
  /** Print JSON on stdout without --json (ci-deploy's contract); otherwise a one-line summary. */
  alwaysJson: boolean
}

const CI_DEPLOY: DeployCommand = { prog: 'ci-deploy', usage: USAGE, alwaysJson: true }

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
  json: boolean
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
      json: { type: 'boolean' },
    },
    strict: true,
  })
  const broker = parseBaseUrl('--broker URL (or BROKER_URL)', values.broker ?? env.BROKER_URL)
  if (!values.repo) throw new UsageError('--repo is required.')
  if (!values.environment) throw new UsageError('--environment is required.')
  const set = parseSets(values.set ?? [])
  const rollback = values.rollback ?? false
  if (!rollback && (values.image === undefined) === (set === undefined)) throw new UsageError('Give exactly one of --image or --set (or --rollback).')
  if (rollback && values.image !== undefined) throw new UsageError('--rollback takes --to SHA (and --set keys), not --image.')
  const via = values.via ?? 'broker'
  if (via !== 'broker' && via !== 'direct') throw new UsageError('--via must be broker or direct.')
  if (via === 'direct' && rollback) throw new UsageError('--rollback goes through the broker (--via broker).')
  const githostedUrl = values['githosted-url'] ?? env.GITHOSTED_URL
  return {
    broker,
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
    ...(githostedUrl ? { githostedUrl: parseBaseUrl('--githosted-url (or GITHOSTED_URL)', githostedUrl) } : {}),
    json: values.json ?? false,
  }
}

/** `--set /pointer=JSON` (repeatable); a bare word is a string: --set /image=app:1. */
export function parseSets(sets: string[]): Record<string, unknown> | undefined {
  let out: Record<string, unknown> | undefined
  for (const s of sets) {
    const eq = s.indexOf('=')
    if (eq <= 0) throw new UsageError(`--set ${s}: expected /pointer=JSON, e.g. /replicas=3 or '/image="app:1"'.`)
    const raw = s.slice(eq + 1)
    let value: unknown
    try {
      value = JSON.parse(raw)
    } catch {
      value = raw
    }
    out = { ...out, [s.slice(0, eq)]: value }
  }
  return out
}

function target(o: Options, credential: Credential, io: Io): BrokerTarget {
  return { broker: o.broker, bearer: credential.value, ...(io.fetch ? { fetch: io.fetch } : {}), ...(io.sleep ? { sleep: io.sleep } : {}) }
}

async function viaBroker(o: Options, credential: Credential, io: Io): Promise<DeployResult> {
  const common = {
    repo: o.repo,
    environment: o.environment,
    ...(o.idempotencyKey ? { idempotencyKey: o.idempotencyKey } : {}),
    ...(o.dryRun ? { dryRun: true } : {}),
    ...(o.overrideHold ? { overrideHold: true } : {}),
    ...(o.reason ? { reason: o.reason } : {}),
  }
  const t = target(o, credential, io)
  if (o.rollback) return rollback(t, { ...common, ...(o.to ? { to: o.to } : {}), ...(o.set ? { keys: Object.keys(o.set) } : {}) })
  return deploy(t, { ...common, ...(o.image !== undefined ? { image: o.image } : { set: o.set! }) })
}

async function viaDirect(o: Options, credential: Credential, env: Env, io: Io): Promise<unknown> {
  if (!o.githostedUrl) throw new UsageError('--via direct needs --githosted-url (or GITHOSTED_URL).')
  const minted = await mintToken(target(o, credential, io), { repos: [o.repo], permission: 'write', ttl: '15m' })
  const client = new Client({ token: minted.token, baseUrl: o.githostedUrl, clientName: 'githosted-ci-deploy' })
  const runUrl = ciRunUrl(env)
  return applyConfigUpdate(
    { repo: client.repo(o.repo), repoName: o.repo },
    {
      environment: o.environment,
      change: o.image !== undefined ? { image: o.image } : { set: o.set! },
      source: 'ci-job',
      // Who deployed is the CI project, as the seed job records it; never the name of the variable holding the key.
      requester: ciRequester(env),
      ...(runUrl ? { runUrl } : {}),
      ...(o.idempotencyKey ? { idempotencyKey: o.idempotencyKey } : {}),
      dryRun: o.dryRun,
      ...(o.reason ? { reason: o.reason } : {}),
    },
  )
}

/** Runs the deploy command; returns the exit code (0 ok, 1 refused or failed, 2 usage). */
export async function ciDeploy(argv: string[], env: Env, io: Io, command: DeployCommand = CI_DEPLOY): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    io.out(command.usage)
    return 0
  }
  let o: Options
  try {
    o = parse(argv, env)
  } catch (err) {
    io.err(`${command.prog}: ${err instanceof Error ? err.message : String(err)}\n\n${command.usage}`)
    return 2
  }
  try {
    const credential = await findCredential(env, {
      audience: o.audience,
      ...(o.oidcEnv ? { oidcEnv: o.oidcEnv } : {}),
      ...(o.brokerKeyEnv ? { brokerKeyEnv: o.brokerKeyEnv } : {}),
      ...(io.fetch ? { fetch: io.fetch } : {}),
    })
    const result = (o.via === 'broker' ? await viaBroker(o, credential, io) : await viaDirect(o, credential, env, io)) as unknown as Record<string, unknown>
    const what = result.dryRun ? 'dry run' : result.changed ? `committed ${String(result.commit).slice(0, 12)}` : result.skipped ? `skipped (${result.reason})` : 'already in place'
    const summary = `${o.repo}/${o.environment}: ${what}`
    if (command.alwaysJson || o.json) {
      io.out(JSON.stringify(result, null, 2))
      io.err(`${command.prog}: ${summary}`)
    } else {
      io.out(result.dryRun && typeof result.diff === 'string' ? `${summary}\n${result.diff}` : summary)
    }
    return 0
  } catch (err) {
    io.err(`${command.prog}: ${err instanceof Error ? err.message : String(err)}`)
    return exitCodeFor(err)
  }
}

// Run as a script, not when bundled into githosted-ci (the bundle's import.meta.url is the bundle's).
if (process.argv[1] && import.meta.url.endsWith('/ci-deploy.ts') && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  ciDeploy(process.argv.slice(2), process.env, { out: (l) => console.log(l), err: (l) => console.error(l) }).then((code) => process.exit(code))
}
