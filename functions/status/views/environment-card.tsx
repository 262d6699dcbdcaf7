/**
 * One environment as a card: image, commit, when, who, CI run, hold, any
 * problem, and its recent deploys as a small semantic table.
 */
import type { DeployRecord, EnvironmentStatus, ValueLineage } from '../../lib/status/types.js'
import { formatRelativeTime } from '../../lib/status/relative-time.js'
import { envId, runLabel, safeHttpUrl, shortIdentity } from './format.js'

/** How the card links a commit id (the status app's commitUrlTemplate, bound to the repo). */
export type CommitLinker = (sha: string) => string | undefined

/** A commit id, linked when a commit URL template is configured; the full sha in the tooltip. */
function CommitId(props: { sha: string; shortSha: string; link?: CommitLinker | undefined }) {
  const url = props.link?.(props.sha)
  const code = <code title={props.sha}>{props.shortSha}</code>
  return url ? <a href={url} rel="noreferrer noopener" class="commit">{code}</a> : code
}

/** Who deployed, shortened for reading; the full identity in the tooltip. */
function Who(props: { who: string }) {
  const short = shortIdentity(props.who)
  return short === props.who ? <span class="who">{props.who}</span> : <span class="who" title={props.who}>{short}</span>
}

export function RelativeTime(props: { iso: string | null; now: Date }) {
  if (!props.iso) return <span>unknown</span>
  return (
    <time datetime={props.iso} title={props.iso} data-relative="">
      {formatRelativeTime(new Date(props.iso), props.now)}
    </time>
  )
}

function RunLink(props: { runUrl?: string | undefined; source?: string | undefined }) {
  const url = safeHttpUrl(props.runUrl)
  if (url) return <a href={url} rel="noreferrer noopener">{runLabel(url)}</a>
  if (props.runUrl) return <span>{props.runUrl}</span>
  return <span>{props.source ? `${props.source} (no run link)` : 'not recorded'}</span>
}

const show = (v: unknown) => (v === null ? <em>none</em> : <code>{typeof v === 'string' ? v : JSON.stringify(v)}</code>)

/** Every key the deploy changed, before → after; the image first, by its value alone. */
function Change(props: { deploy: DeployRecord; imagePointer: string }) {
  const changes = [...props.deploy.changes].sort((a, b) => Number(b.pointer === props.imagePointer) - Number(a.pointer === props.imagePointer))
  return (
    <ul class="changes">
      {changes.map((c) => (
        <li>
          {c.pointer === props.imagePointer ? '' : <span class="key">{c.pointer || 'file'} </span>}
          {show(c.from)}
          <span aria-hidden="true"> → </span>
          <span class="sr-only"> to </span>
          {show(c.to)}
        </li>
      ))}
    </ul>
  )
}

/** Where the image came from: a promotion names its source environment and commit, and the chain behind it. */
function Origin(props: { lineage: ValueLineage | null; chain: string[]; link?: CommitLinker | undefined }) {
  const l = props.lineage
  if (!l) return <span>not recorded</span>
  const commit = <CommitId sha={l.commit} shortSha={l.shortSha} link={props.link} />
  const digest = l.digest ? <span class="digest"> pinned <code title={l.digest}>{l.digest.slice(0, 19)}…</code></span> : ''
  if (!l.promotedFrom) return <span data-lineage={l.source}>{l.source} deploy {commit}{digest}</span>
  const from = l.promotedFrom
  return (
    <span data-lineage="promotion">
      promoted from <a href={`#${envId(from.environment)}`}>{from.environment}</a> at <CommitId sha={from.commit} shortSha={from.shortSha} link={props.link} /> by {commit}
      {digest}
      {props.chain.length > 1 ? <span class="chain" aria-label={`promotion chain ${props.chain.join(' to ')}`}> ({props.chain.join(' → ')})</span> : ''}
    </span>
  )
}

function History(props: { env: EnvironmentStatus; now: Date; link?: CommitLinker | undefined; imagePointer: string }) {
  const history = props.env.history ?? []
  if (history.length === 0) return <p>No deploys recorded yet.</p>
  return (
    <table class="history">
      <caption>Recent deploys to {props.env.environment}</caption>
      <thead>
        <tr>
          <th scope="col">When</th>
          <th scope="col">Who</th>
          <th scope="col">Change</th>
          <th scope="col">Commit</th>
        </tr>
      </thead>
      <tbody>
        {history.map((d) => (
          <tr>
            <td data-label="When"><RelativeTime iso={d.committedAt} now={props.now} /></td>
            <td data-label="Who"><Who who={d.who} /></td>
            <td data-label="Change">
              <Change deploy={d} imagePointer={props.imagePointer} />
              {d.promotedFrom ? <span class="promoted" data-promoted-from={d.promotedFrom.environment}>promoted from {d.promotedFrom.environment}@{d.promotedFrom.shortSha}</span> : ''}
            </td>
            <td data-label="Commit"><CommitId sha={d.sha} shortSha={d.shortSha} link={props.link} /></td>
          </tr>
        ))}
      </tbody>
    </table>
  )
}

export function EnvironmentCard(props: { env: EnvironmentStatus; now: Date; link?: CommitLinker | undefined; imagePointer?: string | undefined; chain?: string[] }) {
  const { env, now } = props
  const id = envId(env.environment)
  const last = env.lastCommit
  const latest = env.history?.[0]
  const who = latest?.who ?? last?.trailers?.requester ?? last?.authorName ?? 'unknown'
  const runUrl = latest?.runUrl ?? last?.trailers?.runUrl
  const source = latest?.source ?? last?.trailers?.source
  return (
    <li>
      <article class="env" aria-labelledby={id} data-environment={env.environment}>
        <header>
          <h2 id={id}>{env.environment}</h2>
          {env.held ? <span class="badge held" title={env.hold?.reason ?? 'held'}>Held</span> : <span class="badge open">Deploys open</span>}
          {env.problem ? <span class="badge bad">Needs attention</span> : ''}
        </header>
        {env.problem ? <p class="problem" data-problem={env.problem.code}>{env.problem.message}</p> : ''}
        {env.held ? (
          <p class="hold">
            Deploys are held{env.hold?.by ? ` by ${env.hold.by}` : ''}
            {env.hold?.reason ? `: ${env.hold.reason}` : ''}.
          </p>
        ) : (
          ''
        )}
        <dl>
          <dt>Image</dt>
          <dd>{env.image ? <code class="image">{env.image}</code> : <em>none</em>}</dd>
          <dt>Commit</dt>
          <dd>
            {last ? (
              <span><CommitId sha={last.sha} shortSha={last.shortSha} link={props.link} /> {last.subject}</span>
            ) : (
              'unknown'
            )}
          </dd>
          <dt>Updated</dt>
          <dd><RelativeTime iso={env.updatedAt} now={now} /></dd>
          <dt>Deployed by</dt>
          <dd><Who who={who} /></dd>
          <dt>CI run</dt>
          <dd><RunLink runUrl={runUrl} source={source} /></dd>
          <dt>Came from</dt>
          <dd class="lineage"><Origin lineage={env.lineage ?? null} chain={props.chain ?? [env.environment]} link={props.link} /></dd>
        </dl>
        <History env={env} now={now} link={props.link} imagePointer={props.imagePointer ?? '/image'} />
      </article>
    </li>
  )
}
