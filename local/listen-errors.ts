/**
 * A port clash at `npm start` as advice rather than a stack trace.
 */

/** A listen error as advice: which flag to change, and that 0 picks any free port. */
export function explainListenError(err: unknown, ports: Record<string, number>): string | undefined {
  const e = err as NodeJS.ErrnoException & { port?: number }
  if (e?.code !== 'EADDRINUSE' && e?.code !== 'EACCES') return undefined
  const flag = Object.entries(ports).find(([, p]) => p === e.port)?.[0] ?? '--port'
  const what = e.code === 'EADDRINUSE' ? `port ${e.port} is already in use (another npm start?)` : `port ${e.port} needs privileges`
  return `${what}. Pick another with ${flag} N, or ${flag} 0 for any free port.`
}
