/**
 * The dashboard page and the fragment its script swaps in. Server-rendered
 * with hono/jsx; the only script is the refresh loop, allowed by a per-response
 * CSP nonce.
 */
import type { StatusProblem, StatusReport } from '../../lib/status/types.js'
import { shortSha } from '../../lib/status/commits.js'
import { EnvironmentCard } from './environment-card.js'
import { promotionChain } from '../../lib/status/lineage.js'
import { commitUrl } from './format.js'
import { REFRESH_SCRIPT } from './refresh-script.js'
import { STYLES } from './styles.js'

export interface StatusViewModel {
  repo: string
  /** The report, or the problem that kept us from reading one. */
  report?: StatusReport
  failure?: StatusProblem
  now: Date
  /** `{repo}`/`{sha}` template for commit links (none: commit ids are plain text). */
  commitUrlTemplate?: string | undefined
  /** Where the image lives in an environment file (the status layout's). Default /image. */
  imagePointer?: string | undefined
}

/** Everything inside `<main>`: what the refresh script replaces. */
export function StatusFragment(props: StatusViewModel) {
  const { report, failure, now } = props
  if (failure) {
    return (
      <p class="problem" data-problem={failure.code}>
        Could not read <code>{props.repo}</code>: {failure.message}
      </p>
    )
  }
  if (!report) return <p>No data.</p>
  const count = report.environments.length
  return (
    <div>
      <p class="meta">
        {count} environment{count === 1 ? '' : 's'} in <code>{report.repo}</code>
        {report.headSha ? (
          <span>
            {' '}at <code title={report.headSha}>{shortSha(report.headSha)}</code>
          </span>
        ) : (
          ''
        )}
      </p>
      {report.problem ? (
        <p class="problem" data-problem={report.problem.code}>{report.problem.message}</p>
      ) : (
        ''
      )}
      {count > 0 ? (
        <ul class="envs">
          {report.environments.map((env) => (
            <EnvironmentCard env={env} now={now} imagePointer={props.imagePointer} chain={promotionChain(report.environments, env)} link={(sha) => commitUrl(props.commitUrlTemplate, report.repo, sha)} />
          ))}
        </ul>
      ) : (
        ''
      )}
    </div>
  )
}

export function StatusPage(
  props: StatusViewModel & { nonce: string; etag?: string | undefined; refreshSeconds: number },
) {
  return (
    <html lang="en">
      <PageHead title={`Deployments · ${props.repo}`} nonce={props.nonce}>
        {/* No favicon request: the API has no route for one. */}
        <link rel="icon" href="data:," />
      </PageHead>
      <body>
        <header class="top">
          <h1>Deployments</h1>
          <p class="meta">
            <code>{props.repo}</code>, refreshed every {props.refreshSeconds} s.{' '}
            <span id="refresh-note" role="status" aria-live="polite"></span>
          </p>
        </header>
        <main id="status" data-etag={props.etag ?? ''} data-refresh-seconds={String(props.refreshSeconds)}>
          <StatusFragment repo={props.repo} report={props.report} failure={props.failure} now={props.now} commitUrlTemplate={props.commitUrlTemplate} imagePointer={props.imagePointer} />
        </main>
        <script nonce={props.nonce} dangerouslySetInnerHTML={{ __html: REFRESH_SCRIPT }} />
      </body>
    </html>
  )
}

/** The `<head>` every page has; `children` go between the title and the styles. */
function PageHead(props: { title: string; nonce: string; children?: unknown }) {
  return (
    <head>
      <meta charset="utf-8" />
      <meta name="viewport" content="width=device-width, initial-scale=1" />
      <meta name="referrer" content="no-referrer" />
      <title>{props.title}</title>
      {props.children}
      <style nonce={props.nonce} dangerouslySetInnerHTML={{ __html: STYLES }} />
    </head>
  )
}

/** A small page for 401s and errors on the dashboard routes. */
export function MessagePage(props: { title: string; nonce: string; children?: unknown }) {
  return (
    <html lang="en">
      <PageHead title={props.title} nonce={props.nonce} />
      <body>
        <main>
          <h1>{props.title}</h1>
          {props.children}
        </main>
      </body>
    </html>
  )
}
