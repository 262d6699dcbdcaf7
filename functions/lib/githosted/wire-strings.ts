/**
 * A minimal protobuf binary decoder for messages whose fields we read are all
 * strings (our Connect error details). It replaces protobuf-es's reflection
 * runtime, which would be most of a Lambda bundle, for two tiny messages.
 *
 * Rules follow the protobuf encoding spec: fields of any other number are
 * skipped by wire type (varint, fixed64, length-delimited, groups, fixed32);
 * for a repeated occurrence of a string field the last one wins; strings must
 * be valid UTF-8 (proto3 requires it). Anything malformed throws: a truncated
 * buffer, an over-long varint, field number 0, wire types 6/7, a known field
 * with the wrong wire type, or an unbalanced group.
 */
const utf8 = new TextDecoder('utf-8', { fatal: true })
// protobuf-es's default recursion limit; stops a hostile body from exhausting the stack.
const MAX_DEPTH = 100

/**
 * Decodes `bytes` as a message whose field number `i + 1` is the string field
 * `names[i]`. Absent fields are ''.
 */
export function decodeStringFields<K extends string>(
  bytes: Uint8Array,
  names: readonly K[],
): Record<K, string> {
  const out = Object.fromEntries(names.map((n) => [n, ''])) as Record<K, string>
  let pos = 0

  // Unsigned varint of at most 32 bits (tags and lengths); 5 bytes at most.
  const varint32 = (): number => {
    let value = 0
    for (let shift = 0; shift < 35; shift += 7) {
      if (pos >= bytes.length) throw new Error('truncated varint')
      const b = bytes[pos++] as number
      value += (b & 0x7f) * 2 ** shift
      if (b < 0x80) {
        if (value > 0xffffffff) throw new Error('varint overflows 32 bits')
        return value
      }
    }
    throw new Error('varint too long')
  }

  // Any varint (up to 64 bits, 10 bytes), value unused.
  const skipVarint = () => {
    for (let i = 0; i < 10; i++) {
      if (pos >= bytes.length) throw new Error('truncated varint')
      if ((bytes[pos++] as number) < 0x80) return
    }
    throw new Error('varint too long')
  }

  const skip = (n: number) => {
    if (n > bytes.length - pos) throw new Error('truncated field')
    pos += n
  }

  // Reads one field; returns the field number of an end-group tag, else 0.
  // Fields inside a group belong to the group's message, not ours.
  const field = (depth: number): number => {
    const tag = varint32()
    const no = tag >>> 3
    const wireType = tag & 7
    if (no === 0) throw new Error('field number 0')
    const name = depth === 0 ? names[no - 1] : undefined
    if (name !== undefined && wireType !== 2) throw new Error(`field ${no}: wrong wire type`)
    switch (wireType) {
      case 0:
        skipVarint()
        break
      case 1:
        skip(8)
        break
      case 2: {
        const len = varint32()
        const start = pos
        skip(len)
        if (name !== undefined) out[name] = utf8.decode(bytes.subarray(start, pos))
        break
      }
      case 3:
        // A group: fields until the matching end-group tag.
        if (depth >= MAX_DEPTH) throw new Error('groups nested too deeply')
        for (;;) {
          if (pos >= bytes.length) throw new Error('unterminated group')
          const end = field(depth + 1)
          if (end === no) break
          if (end !== 0) throw new Error('mismatched end group')
        }
        break
      case 4:
        return no
      case 5:
        skip(4)
        break
      default:
        throw new Error(`invalid wire type ${wireType}`)
    }
    return 0
  }

  while (pos < bytes.length) {
    if (field(0) !== 0) throw new Error('end group outside a group')
  }
  return out
}
