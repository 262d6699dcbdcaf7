/**
 * Side-by-side sampling: every round takes one sample of every subject, in a
 * rotating order, so machine noise (other agents, thermal, page cache) hits
 * all subjects alike and ratios stay fair.
 */
export async function interleave<T>(
  subjects: readonly T[],
  rounds: number,
  sample: (subject: T, round: number) => Promise<void>,
): Promise<void> {
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < subjects.length; i++) {
      await sample(subjects[(i + r) % subjects.length]!, r)
    }
  }
}

/** `n` values made one after another (events carry fresh credentials; order matters for some). */
export async function many<T>(n: number, make: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = []
  for (let i = 0; i < n; i++) out.push(await make(i))
  return out
}
