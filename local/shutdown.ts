/**
 * Stopping `npm start` from anywhere: SIGINT (Ctrl-C), SIGTERM and SIGHUP to
 * this process, or the death of the process that started it. `npm start`
 * runs us under npm and a shell; a signal to npm does not always reach us, so
 * a parent that goes away (we get re-parented) counts as a stop request too.
 * Every path runs the same close-everything function once, so the ports are
 * freed; a close that hangs is cut short.
 */

export interface ShutdownOptions {
  /** Poll for the parent's exit (default true). */
  watchParent?: boolean
  /** How long closing may take before the process exits anyway. Default 5 s. */
  graceMs?: number
  pollMs?: number
}

export function installShutdown(stop: () => Promise<void>, options: ShutdownOptions = {}): void {
  let stopping = false
  const run = (why: string) => {
    if (stopping) return
    stopping = true
    const force = setTimeout(() => {
      process.stderr.write(`npm start: still closing after ${options.graceMs ?? 5000} ms (${why}); exiting anyway\n`)
      process.exit(1)
    }, options.graceMs ?? 5000)
    force.unref()
    stop().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`npm start: error while stopping: ${err instanceof Error ? err.message : String(err)}\n`)
        process.exit(1)
      },
    )
  }
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => run(signal))
  if (options.watchParent ?? true) {
    const parent = process.ppid
    const timer = setInterval(() => {
      if (process.ppid !== parent) run('parent process exited')
    }, options.pollMs ?? 500)
    timer.unref()
  }
}
