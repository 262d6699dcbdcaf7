/**
 * Summarizes an esbuild metafile: which packages (or which of our own source
 * folders) the bytes of a bundle come from, so the cost of every dependency
 * is visible next to the bundle-size budget.
 */

/** The part of esbuild's Metafile we read. */
export interface Metafile {
  outputs: Record<string, { bytes: number; inputs: Record<string, { bytesInOutput: number }> }>
}

export interface Contributor {
  /** npm package name, or `(ours) functions/lib/auth` for first-party code. */
  name: string
  bytes: number
  files: number
}

/** Maps an input path to the package (or first-party folder) it belongs to. */
export function ownerOf(inputPath: string): string {
  const parts = inputPath.split('/')
  const nm = parts.lastIndexOf('node_modules')
  if (nm >= 0) {
    const first = parts[nm + 1] ?? '?'
    return first.startsWith('@') ? `${first}/${parts[nm + 2] ?? '?'}` : first
  }
  // First-party: group by up to three folders (functions/lib/auth, functions/token, bench/peers).
  const dirs = parts.slice(0, -1).filter((p) => p !== '.' && p !== '..')
  return `(ours) ${dirs.slice(0, 3).join('/') || parts.at(-1)}`
}

/** Contributors to all outputs of a bundle, largest first. */
export function contributors(meta: Metafile): Contributor[] {
  const byOwner = new Map<string, Contributor>()
  for (const output of Object.values(meta.outputs)) {
    for (const [path, info] of Object.entries(output.inputs)) {
      const name = ownerOf(path)
      const c = byOwner.get(name) ?? { name, bytes: 0, files: 0 }
      c.bytes += info.bytesInOutput
      c.files += 1
      byOwner.set(name, c)
    }
  }
  return [...byOwner.values()].sort((a, b) => b.bytes - a.bytes)
}

/** The top `n` contributors plus one row for the rest. */
export function topContributors(meta: Metafile, n = 8): Contributor[] {
  const all = contributors(meta)
  if (all.length <= n) return all
  const rest = all.slice(n)
  return [
    ...all.slice(0, n),
    {
      name: `(${rest.length} others)`,
      bytes: rest.reduce((s, c) => s + c.bytes, 0),
      files: rest.reduce((s, c) => s + c.files, 0),
    },
  ]
}
