/**
 * A unified diff between two versions of a config file, for dry runs. The
 * edits we make are in place and few, so trimming the common head and tail
 * of the line lists gives the exact hunk without a general diff algorithm;
 * changes far apart show as one hunk spanning them.
 */
export function unifiedDiff(path: string, before: string, after: string, context = 3): string {
  if (before === after) return ''
  const a = splitLines(before)
  const b = splitLines(after)
  let head = 0
  const same = (x: Line | undefined, y: Line | undefined) => !!x && !!y && x.text === y.text && x.eol === y.eol
  while (head < a.length && head < b.length && same(a[head], b[head])) head++
  let tail = 0
  while (tail < a.length - head && tail < b.length - head && same(a[a.length - 1 - tail], b[b.length - 1 - tail])) tail++
  const from = Math.max(0, head - context)
  const aEnd = Math.min(a.length, a.length - tail + context)
  const bEnd = Math.min(b.length, b.length - tail + context)
  const lines: string[] = [`--- a/${path}`, `+++ b/${path}`]
  const range = (start: number, count: number) => (count === 0 ? `${start},0` : count === 1 ? `${start + 1}` : `${start + 1},${count}`)
  lines.push(`@@ -${range(from, aEnd - from)} +${range(from, bEnd - from)} @@`)
  for (let i = from; i < head; i++) lines.push(' ' + a[i]!.text)
  for (let i = head; i < a.length - tail; i++) lines.push('-' + a[i]!.text, ...(a[i]!.eol ? [] : ['\\ No newline at end of file']))
  for (let i = head; i < b.length - tail; i++) lines.push('+' + b[i]!.text, ...(b[i]!.eol ? [] : ['\\ No newline at end of file']))
  for (let i = a.length - tail; i < aEnd; i++) lines.push(' ' + a[i]!.text, ...(a[i]!.eol ? [] : ['\\ No newline at end of file']))
  return lines.join('\n') + '\n'
}

interface Line {
  text: string
  eol: boolean
}

function splitLines(s: string): Line[] {
  if (s === '') return []
  const parts = s.split('\n')
  const last = parts.pop()!
  // The eol flag keeps "same text, final newline added or removed" a change.
  const lines: Line[] = parts.map((text) => ({ text: text.replace(/\r$/, ''), eol: true }))
  if (last !== '') lines.push({ text: last, eol: false })
  return lines
}

/** How many lines a change removes and adds (a scalar edit should be 1 and 1). */
export function changedLineCount(before: string, after: string): { removed: number; added: number } {
  const d = unifiedDiff('x', before, after, 0)
  if (!d) return { removed: 0, added: 0 }
  const body = d.split('\n').slice(3)
  return {
    removed: body.filter((l) => l.startsWith('-')).length,
    added: body.filter((l) => l.startsWith('+')).length,
  }
}
