/**
 * JSON numbers that a JavaScript number cannot hold exactly
 * (`12345678901234567890`, `0.10000000000000000001`). JSON.parse would round
 * them, and a deploy would then commit a different value than the one asked
 * for, or rewrite a value nobody touched. They are kept as their text
 * instead, compared by that text, and written back verbatim.
 *
 * Outside the deploy core (API responses, commit trailers), `toJSON` gives
 * the nearest number: those are reports, not the file.
 */
export class ExactNumber {
  constructor(readonly text: string) {}

  toJSON(): number {
    return Number(this.text)
  }

  toString(): string {
    return this.text
  }
}

/** Whether a JSON number literal survives a round trip through a double. */
export function isExactAsDouble(text: string): boolean {
  const n = Number(text)
  if (!Number.isFinite(n)) return false
  if (/^-?\d+$/.test(text)) return Number.isSafeInteger(n)
  // Significant digits of the literal, against the 15 every double holds exactly.
  const digits = text.replace(/[eE].*$/, '').replace(/[-.]/g, '').replace(/^0+/, '').replace(/0+$/, '')
  return digits.length <= 15
}

/** A number literal as a value: a plain number when exact, else an ExactNumber. */
export function numberValue(text: string): number | ExactNumber {
  return isExactAsDouble(text) ? Number(text) : new ExactNumber(text)
}
