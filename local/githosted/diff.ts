import { execFile } from 'node:child_process'

/**
 * Unified patch between two commits, from the git CLI (diff is rare and git's
 * own output is the reference format). Arguments are resolved commit ids and
 * a validated path, never raw user input, so nothing can be read as an option.
 */
export function gitDiff(gitdir: string, base: string, head: string, path?: string): Promise<string> {
  const args = [
    '--git-dir', gitdir,
    '-c', 'core.quotePath=false',
    'diff', '--no-color', '--no-ext-diff', '--no-textconv', '--full-index',
    base, head,
  ]
  if (path) args.push('--', path)
  return new Promise((resolve, reject) => {
    execFile(
      'git',
      args,
      {
        maxBuffer: 64 * 1024 * 1024,
        env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1', GIT_TERMINAL_PROMPT: '0' },
      },
      (err, stdout) => (err ? reject(err) : resolve(stdout)),
    )
  })
}
