/**
 * One `npm start` per data directory: two would serve the same repos from two
 * local githosted servers and overwrite each other's files. The lock is a
 * file created exclusively, holding the owner's pid; a lock whose process is
 * gone (killed -9, machine restart) is stale and taken over.
 */
import { readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'

export class DataDirLockedError extends Error {
  override readonly name = 'DataDirLockedError'
}

export interface DataDirLock {
  file: string
  release(): void
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

export function lockDataDir(dataDir: string): DataDirLock {
  mkdirSync(dataDir, { recursive: true })
  const file = join(dataDir, '.lock')
  const body = JSON.stringify({ pid: process.pid, startedAt: new Date().toISOString() })
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(file, body, { flag: 'wx' })
      return {
        file,
        release: () => {
          // Only our own lock: a stale-lock takeover by another process must not be undone.
          try {
            if ((JSON.parse(readFileSync(file, 'utf8')) as { pid?: number }).pid === process.pid) rmSync(file, { force: true })
          } catch {
            // already gone
          }
        },
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
    }
    let pid: number | undefined
    try {
      pid = (JSON.parse(readFileSync(file, 'utf8')) as { pid?: number }).pid
    } catch {
      pid = undefined
    }
    if (typeof pid === 'number' && pid !== process.pid && alive(pid)) {
      throw new DataDirLockedError(
        `${dataDir} is in use by another npm start (pid ${pid}). Stop it, or give this one its own directory with --data DIR.`,
      )
    }
    rmSync(file, { force: true })
  }
  throw new DataDirLockedError(`could not lock ${dataDir} (${file} keeps reappearing).`)
}
