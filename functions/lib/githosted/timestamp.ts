/**
 * google.protobuf.Timestamp in proto3 JSON: an RFC 3339 string with `Z` or a
 * numeric offset and 0 to 9 fractional digits. A Date holds milliseconds, so
 * the fraction is rounded to the nearest millisecond (as protobuf-es's
 * `timestampDate` does), e.g. `.123456789` -> 123 ms, `59.9995` -> the next second.
 */
// The range google.protobuf.Timestamp allows: 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z.
const MIN_MS = -62_135_596_800_000
const MAX_MS = 253_402_300_799_000
const RFC3339 =
  /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/

/** Throws on anything that is not a valid RFC 3339 timestamp. */
export function parseTimestamp(text: string): Date {
  const [, dateTime = '', fraction = '', zone = ''] = RFC3339.exec(text) ?? []
  // ISO strings with Z or an offset are fully specified for Date.parse, which
  // also rejects out-of-range parts (month 13, hour 25).
  const seconds = dateTime ? Date.parse(dateTime + zone) : NaN
  if (!(seconds >= MIN_MS && seconds <= MAX_MS)) throw new Error('invalid RFC 3339 timestamp')
  const nanos = Number(fraction.padEnd(9, '0'))
  return new Date(seconds + Math.round(nanos / 1e6))
}
