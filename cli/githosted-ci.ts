/**
 * `githosted-ci`: the broker from any CI job, as one dependency-free file
 * (build/cli.ts bundles it; package.json `bin`). deploy and rollback are
 * `npm run ci-deploy`'s code; token, revoke, hold, release, promote, verify
 * and status call the same broker API module.
 */
import { parseArgs } from 'node:util'
import { ciDeploy, type Io } from '../scripts/ci-deploy.js'
import { findCredential, type Env } from '../scripts/ci-env.js'
import * as api from './broker-api.js'
import { exitCodeFor, UsageError } from './errors.js'
import { parseBaseUrl } from './http.js'

export type { Io } from '../scripts/ci-deploy.js'

const CREDENTIAL_HELP = `Common options:
  --broker URL            the broker (or $BROKER_URL); must start with https:// (http:// for local)
  --oidc-env NAME         use the ID token in $NAME (GitLab id_tokens, any CI that exposes one)
  --broker-key-env NAME   use the broker key in $NAME (default BROKER_KEY)
  --audience AUD          OIDC audience for GitHub Actions' token (default githosted-ci-broker)
  --json                  print the broker's JSON answer on stdout
Credential, first that applies: --oidc-env, GitHub Actions' OIDC endpoint
(permissions: id-token: write), then a broker key.
Exit codes: 0 ok (also "already in place"), 1 refused or failed (message on stderr), 2 usage.`

export const USAGE = `usage: githosted-ci <command> [options]

Commands:
  token    --repo SLUG [--repo SLUG ...] [--permission read|write] [--ttl 15m]
           prints the gr_ token (with --json: token, tokenId, expiresAt, ...)
  revoke   --token-id ID            revokes a token this identity minted
  deploy   --repo SLUG --environment ENV (--image REF | --set /pointer=JSON ...)
           [--dry-run] [--override-hold] [--reason TEXT] [--idempotency-key K]
           [--via broker|direct] [--githosted-url URL]
  rollback --repo SLUG --environment ENV [--to SHA] [--set /pointer=... (keys)] [--reason TEXT]
  hold     --repo SLUG --environment ENV --reason TEXT
  release  --repo SLUG --environment ENV [--reason TEXT]
  promote  --repo SLUG --from ENV --to ENV [--key /pointer ...] [--allow-tag-only]
           [--dry-run] [--reason TEXT] [--idempotency-key K]
           copies what ENV runs (the image with its digest by default) into --to
  verify   --repo SLUG --environment ENV --check NAME [--commit SHA]
           records that a check passed against what ENV runs (a promotion gate)
  status   --repo SLUG [--history N]

${CREDENTIAL_HELP}`

const COMMON = {
  broker: { type: 'string' },
  audience: { type: 'string' },
  'oidc-env': { type: 'string' },
  'broker-key-env': { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const

type Values = Record<string, string | boolean | string[] | undefined>

interface Context {
  env: Env
  io: Io
  values: Values
}

function str(values: Values, name: string, required: true): string
function str(values: Values, name: string, required?: false): string | undefined
function str(values: Values, name: string, required = false): string | undefined {
  const v = values[name]
  if (typeof v === 'string' && v.trim() !== '') return v.trim()
  if (required) throw new UsageError(`--${name} is required.`)
  return undefined
}

async function target(ctx: Context): Promise<api.BrokerTarget> {
  const { values, env, io } = ctx
  const broker = parseBaseUrl('--broker URL (or BROKER_URL)', str(values, 'broker') ?? env.BROKER_URL)
  const oidcEnv = str(values, 'oidc-env')
  const brokerKeyEnv = str(values, 'broker-key-env')
  const credential = await findCredential(env, {
    audience: str(values, 'audience') ?? 'githosted-ci-broker',
    ...(oidcEnv ? { oidcEnv } : {}),
    ...(brokerKeyEnv ? { brokerKeyEnv } : {}),
    ...(io.fetch ? { fetch: io.fetch } : {}),
  })
  return { broker, bearer: credential.value, ...(io.fetch ? { fetch: io.fetch } : {}), ...(io.sleep ? { sleep: io.sleep } : {}) }
}

/** Flags checked before any network call, so a usage error exits 2 having sent nothing. */
interface Command {
  options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean }>
  run(ctx: Context): Promise<{ json: unknown; text: string }>
}

const COMMANDS: Record<string, Command> = {
  token: {
    options: { repo: { type: 'string', multiple: true }, permission: { type: 'string' }, ttl: { type: 'string' } },
    async run(ctx) {
      const repos = (ctx.values.repo as string[] | undefined) ?? []
      if (repos.length === 0) throw new UsageError('--repo is required.')
      const permission = str(ctx.values, 'permission') ?? 'read'
      if (permission !== 'read' && permission !== 'write') throw new UsageError('--permission must be read or write.')
      const minted = await api.mintToken(await target(ctx), { repos, permission, ttl: str(ctx.values, 'ttl') ?? '15m' })
      return { json: minted, text: minted.token }
    },
  },
  revoke: {
    options: { 'token-id': { type: 'string' } },
    async run(ctx) {
      const id = str(ctx.values, 'token-id', true)
      await api.revokeToken(await target(ctx), id)
      return { json: { revoked: id }, text: `revoked ${id}` }
    },
  },
  hold: {
    options: { repo: { type: 'string' }, environment: { type: 'string' }, reason: { type: 'string' } },
    async run(ctx) {
      const body = { repo: str(ctx.values, 'repo', true), environment: str(ctx.values, 'environment', true), reason: str(ctx.values, 'reason', true) }
      const r = await api.hold(await target(ctx), body)
      return { json: r, text: `${r.repo}/${r.environment}: ${r.changed ? `held (commit ${r.commit.slice(0, 12)})` : 'already held'}` }
    },
  },
  release: {
    options: { repo: { type: 'string' }, environment: { type: 'string' }, reason: { type: 'string' } },
    async run(ctx) {
      const reason = str(ctx.values, 'reason')
      const query = { repo: str(ctx.values, 'repo', true), environment: str(ctx.values, 'environment', true), ...(reason ? { reason } : {}) }
      const r = await api.release(await target(ctx), query)
      return { json: r, text: `${r.repo}/${r.environment}: ${r.changed ? `released (commit ${r.commit.slice(0, 12)})` : 'was not held'}` }
    },
  },
  promote: {
    options: {
      repo: { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      key: { type: 'string', multiple: true },
      'allow-tag-only': { type: 'boolean' },
      'dry-run': { type: 'boolean' },
      reason: { type: 'string' },
      'idempotency-key': { type: 'string' },
    },
    async run(ctx) {
      const v = ctx.values
      const keys = v.key as string[] | undefined
      const reason = str(v, 'reason')
      const idempotencyKey = str(v, 'idempotency-key')
      const body = {
        repo: str(v, 'repo', true),
        from: str(v, 'from', true),
        to: str(v, 'to', true),
        ...(keys && keys.length > 0 ? { keys } : {}),
        ...(v['allow-tag-only'] ? { allowTagOnly: true } : {}),
        ...(v['dry-run'] ? { dryRun: true } : {}),
        ...(reason ? { reason } : {}),
        ...(idempotencyKey ? { idempotencyKey } : {}),
      }
      const r = await api.promote(await target(ctx), body)
      const source = `${r.from.environment}@${r.from.commit.slice(0, 12)}${r.from.digest ? ` (${r.from.digest.slice(0, 19)}…)` : ''}`
      const outcome = r.dryRun ? `dry run, would promote ${source}\n${r.diff ?? ''}` : r.changed ? `promoted ${source} (commit ${r.commit.slice(0, 12)})` : `already runs ${source}`
      return { json: r, text: `${r.repo}/${r.environment}: ${outcome}`.trimEnd() }
    },
  },
  verify: {
    options: { repo: { type: 'string' }, environment: { type: 'string' }, check: { type: 'string' }, commit: { type: 'string' } },
    async run(ctx) {
      const commit = str(ctx.values, 'commit')
      const body = { repo: str(ctx.values, 'repo', true), environment: str(ctx.values, 'environment', true), check: str(ctx.values, 'check', true), ...(commit ? { commit } : {}) }
      const r = await api.verify(await target(ctx), body)
      return { json: r, text: `${r.repo}/${r.environment}: ${body.check} ${r.changed ? 'recorded' : 'already recorded'} for ${r.verified.commit.slice(0, 12)}` }
    },
  },
  status: {
    options: { repo: { type: 'string' }, history: { type: 'string' } },
    async run(ctx) {
      const repo = str(ctx.values, 'repo', true)
      const h = str(ctx.values, 'history')
      if (h !== undefined && !/^\d+$/.test(h)) throw new UsageError('--history must be a number.')
      const r = await api.status(await target(ctx), { repo, ...(h !== undefined ? { history: Number(h) } : {}) })
      const rows = r.environments.map((e) => {
        const who = e.lastCommit?.trailers?.requester ?? e.lastCommit?.authorName ?? ''
        const held = e.held ? `HELD${e.hold?.reason ? ` (${e.hold.reason})` : ''}` : ''
        const from = e.lineage?.promotedFrom ? `from ${e.lineage.promotedFrom.environment}@${e.lineage.promotedFrom.shortSha}` : ''
        return [e.environment, e.image ?? '-', e.lastCommit?.shortSha ?? '-', who, held, from].join('\t').trimEnd()
      })
      return { json: r, text: [`${r.repo} at ${r.headSha?.slice(0, 12) ?? '(empty)'}`, ...rows].join('\n') }
    },
  },
}

/** Runs `githosted-ci`; returns the exit code (0 ok, 1 refused or failed, 2 usage). */
export async function runCli(argv: string[], env: Env, io: Io): Promise<number> {
  const [name, ...rest] = argv
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    ;(name === undefined ? io.err : io.out)(USAGE)
    return name === undefined ? 2 : 0
  }
  if (name === 'deploy' || name === 'rollback') {
    return ciDeploy(name === 'rollback' ? [...rest, '--rollback'] : rest, env, io, { prog: `githosted-ci ${name}`, usage: USAGE, alwaysJson: false })
  }
  const command = COMMANDS[name]
  if (!command) {
    io.err(`githosted-ci: unknown command "${name}".\n\n${USAGE}`)
    return 2
  }
  let values: Values
  try {
    values = parseArgs({ args: rest, options: { ...COMMON, ...command.options }, strict: true }).values as Values
  } catch (err) {
    io.err(`githosted-ci ${name}: ${err instanceof Error ? err.message : String(err)}\n\n${USAGE}`)
    return 2
  }
  if (values.help) {
    io.out(USAGE)
    return 0
  }
  try {
    const { json, text } = await command.run({ env, io, values })
    io.out(values.json ? JSON.stringify(json, null, 2) : text)
    return 0
  } catch (err) {
    const code = exitCodeFor(err)
    io.err(`githosted-ci ${name}: ${err instanceof Error ? err.message : String(err)}${code === 2 ? `\n\n${USAGE}` : ''}`)
    return code
  }
}
