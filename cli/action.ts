/**
 * The GitHub Action (action.yml): the runner's protocol (INPUT_* variables,
 * the GITHUB_OUTPUT and GITHUB_STATE files, `::add-mask::`) written out
 * here instead of pulling in @actions/core: these three file formats are all
 * the action uses, and the bundle stays small and dependency-free.
 *
 * Main step: requests an ID token from ACTIONS_ID_TOKEN_REQUEST_URL for the
 * configured audience, then mints a token (when `permission` is set, or when
 * there is nothing to deploy) and/or deploys `image`/`set` through the broker,
 * or promotes `promote-from` into `environment` (POST /v1/promotions).
 * Post step (`STATE_isPost`): revokes the minted token unless `revoke: false`.
 */
import { appendFileSync } from 'node:fs'
import { randomUUID } from 'node:crypto'
import { parseSets } from '../scripts/ci-deploy.js'
import { defaultIdempotencyKey, requestGithubIdToken, type Env } from '../scripts/ci-env.js'
import * as api from './broker-api.js'
import { parseBaseUrl, type Fetch } from './http.js'

export interface ActionIo {
  /** Lines for the runner's log (workflow commands included). */
  out: (line: string) => void
  fetch?: Fetch
}

/** `with: broker-url` arrives as INPUT_BROKER-URL (spaces become _, then upper case). */
function input(env: Env, name: string, required = false): string {
  const v = (env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] ?? '').trim()
  if (required && v === '') throw new Error(`Input required and not supplied: ${name}`)
  return v
}

/** The runner's file-command format; a random delimiter so no value can end the record early. */
function appendFileCommand(file: string | undefined, what: string, name: string, value: string): void {
  if (!file) throw new Error(`${what} is not set: this must run as a GitHub Actions step.`)
  const delimiter = `ghadelimiter_${randomUUID()}`
  if (value.includes(delimiter)) throw new Error(`${name}: value contains the delimiter`)
  appendFileSync(file, `${name}<<${delimiter}\n${value}\n${delimiter}\n`)
}

/** Workflow-command data escaping, as the runner expects it. */
const escapeData = (s: string) => s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A')

async function idToken(env: Env, audience: string, io: ActionIo): Promise<string> {
  const url = env.ACTIONS_ID_TOKEN_REQUEST_URL
  const token = env.ACTIONS_ID_TOKEN_REQUEST_TOKEN
  if (!url || !token) throw new Error('No ACTIONS_ID_TOKEN_REQUEST_URL: give the job `permissions: id-token: write`.')
  const value = await requestGithubIdToken(url, token, audience, io.fetch)
  io.out(`::add-mask::${escapeData(value)}`)
  return value
}

async function main(env: Env, io: ActionIo): Promise<void> {
  const broker = parseBaseUrl('broker-url', input(env, 'broker-url', true))
  const audience = input(env, 'audience') || 'githosted-ci-broker'
  const repo = input(env, 'repo', true)
  const image = input(env, 'image')
  const setLines = input(env, 'set').split('\n').map((l) => l.trim()).filter(Boolean)
  if (image && setLines.length > 0) throw new Error('Give image or set, not both.')
  const set = parseSets(setLines)
  const promoteFrom = input(env, 'promote-from')
  if (promoteFrom && (image || set)) throw new Error('Give promote-from, or image or set, not both.')
  const deploying = image !== '' || set !== undefined || promoteFrom !== ''
  const permission = input(env, 'permission') || (deploying ? '' : 'read')
  if (permission !== '' && permission !== 'read' && permission !== 'write') throw new Error('permission must be read or write.')
  const environment = input(env, 'environment')
  if (deploying && !environment) throw new Error('Input required and not supplied: environment (with image, set or promote-from).')

  const target = (bearer: string): api.BrokerTarget => ({ broker, bearer, ...(io.fetch ? { fetch: io.fetch } : {}) })
  appendFileCommand(env.GITHUB_STATE, 'GITHUB_STATE', 'isPost', 'true')

  if (permission) {
    // An ID token is single-use for minting: one per call.
    const minted = await api.mintToken(target(await idToken(env, audience, io)), { repos: [repo], permission, ttl: input(env, 'ttl') || '15m' })
    // Masked before anything else can print it.
    io.out(`::add-mask::${escapeData(minted.token)}`)
    appendFileCommand(env.GITHUB_OUTPUT, 'GITHUB_OUTPUT', 'token', minted.token)
    appendFileCommand(env.GITHUB_OUTPUT, 'GITHUB_OUTPUT', 'token-id', minted.tokenId)
    appendFileCommand(env.GITHUB_STATE, 'GITHUB_STATE', 'token-id', minted.tokenId)
    io.out(`Minted a ${minted.permission} token ${minted.tokenId} for ${minted.repos.join(', ')}, expires ${minted.expiresAt}${minted.note ? ` (${minted.note})` : ''}`)
  }
  if (promoteFrom) {
    const reason = input(env, 'reason')
    // Its own key: a deploy step to the same environment in this job has the plain one.
    const jobKey = defaultIdempotencyKey(env, environment)
    const idempotencyKey = jobKey && `${jobKey}:promote-from:${promoteFrom}`
    const r = await api.promote(target(await idToken(env, audience, io)), {
      repo,
      from: promoteFrom,
      to: environment,
      ...(input(env, 'allow-tag-only').toLowerCase() === 'true' ? { allowTagOnly: true } : {}),
      ...(reason ? { reason } : {}),
      ...(idempotencyKey ? { idempotencyKey } : {}),
    })
    appendFileCommand(env.GITHUB_OUTPUT, 'GITHUB_OUTPUT', 'commit', r.commit)
    appendFileCommand(env.GITHUB_OUTPUT, 'GITHUB_OUTPUT', 'changed', String(r.changed))
    appendFileCommand(env.GITHUB_OUTPUT, 'GITHUB_OUTPUT', 'promoted-from', `${r.from.environment}@${r.from.commit}`)
    io.out(`${r.repo}/${r.environment}: ${r.changed ? `promoted ${r.from.environment}@${r.from.commit.slice(0, 12)} as ${r.commit.slice(0, 12)}` : 'already in place'}`)
  } else if (deploying) {
    const reason = input(env, 'reason')
    const idempotencyKey = defaultIdempotencyKey(env, environment)
    const r = await api.deploy(target(await idToken(env, audience, io)), {
      repo,
      environment,
      ...(image ? { image } : { set: set! }),
      ...(reason ? { reason } : {}),
      ...(idempotencyKey ? { idempotencyKey } : {}),
    })
    appendFileCommand(env.GITHUB_OUTPUT, 'GITHUB_OUTPUT', 'commit', r.commit)
    appendFileCommand(env.GITHUB_OUTPUT, 'GITHUB_OUTPUT', 'changed', String(r.changed))
    io.out(`${r.repo}/${r.environment}: ${r.changed ? `committed ${r.commit.slice(0, 12)}` : r.skipped ? `skipped (${r.reason})` : 'already in place'}`)
  }
}

async function post(env: Env, io: ActionIo): Promise<void> {
  const tokenId = env['STATE_token-id']
  if (!tokenId) return
  if (input(env, 'revoke').toLowerCase() === 'false') {
    io.out(`Token ${tokenId} left to expire at its TTL (revoke: false).`)
    return
  }
  const broker = parseBaseUrl('broker-url', input(env, 'broker-url', true))
  const bearer = await idToken(env, input(env, 'audience') || 'githosted-ci-broker', io)
  await api.revokeToken({ broker, bearer, ...(io.fetch ? { fetch: io.fetch } : {}) }, tokenId)
  io.out(`Revoked token ${tokenId}.`)
}

/** Runs the main or post step; returns the exit code. Failures become `::error::` (main) or `::warning::` (post). */
export async function runAction(env: Env, io: ActionIo): Promise<number> {
  const isPost = env.STATE_isPost === 'true'
  try {
    await (isPost ? post(env, io) : main(env, io))
    return 0
  } catch (err) {
    const message = escapeData(err instanceof Error ? err.message : String(err))
    // A failed revoke must not fail a job whose deploy succeeded: the token still expires at its TTL.
    io.out(isPost ? `::warning::Could not revoke the token: ${message}` : `::error::${message}`)
    return isPost ? 0 : 1
  }
}
