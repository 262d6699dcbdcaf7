import { create, fromBinary, toBinary } from '@bufbuild/protobuf'
import { BinaryWriter, WireType } from '@bufbuild/protobuf/wire'
import { describe, expect, it } from 'vitest'
import { StaleHeadDetailSchema } from '../../../../functions/lib/githosted/gen/githosted/v1/errors_pb.js'
import { decodeStringFields } from '../../../../functions/lib/githosted/wire-strings.js'

const FIELDS = ['repoId', 'ref', 'expectedHead', 'actualHead'] as const
const detail = { repoId: 'rp_é☃😀', ref: 'main', expectedHead: 'a'.repeat(40), actualHead: 'b'.repeat(40) }

/** The reference encoding, from protobuf-es itself. */
function reference(d: Partial<typeof detail>): Uint8Array {
  return toBinary(StaleHeadDetailSchema, create(StaleHeadDetailSchema, d))
}

describe('decodeStringFields', () => {
  it('decodes what protobuf-es encodes (multi-byte UTF-8 included)', () => {
    expect(decodeStringFields(reference(detail), FIELDS)).toEqual(detail)
  })

  it('absent fields are empty strings; an empty buffer is all defaults', () => {
    expect(decodeStringFields(reference({ ref: 'dev' }), FIELDS)).toEqual({
      repoId: '',
      ref: 'dev',
      expectedHead: '',
      actualHead: '',
    })
    expect(decodeStringFields(new Uint8Array(0), ['repoId', 'operation'])).toEqual({ repoId: '', operation: '' })
  })

  it('skips unknown fields of every wire type, including nested groups', () => {
    const w = new BinaryWriter()
    w.tag(9, WireType.Varint).uint64('18446744073709551615') // 10-byte varint
    w.tag(1, WireType.LengthDelimited).string(detail.repoId)
    w.tag(10, WireType.Bit64).fixed64(7n)
    w.tag(11, WireType.LengthDelimited).bytes(new Uint8Array([1, 2, 3]))
    w.tag(12, WireType.Bit32).fixed32(5)
    // A group whose inner field 2 must NOT be taken for our field 2.
    w.tag(13, WireType.StartGroup)
    w.tag(2, WireType.LengthDelimited).string('not-the-ref')
    w.tag(14, WireType.StartGroup).tag(14, WireType.EndGroup)
    w.tag(13, WireType.EndGroup)
    w.tag(2, WireType.LengthDelimited).string('main')
    w.tag(536870911, WireType.Varint).int32(-1) // highest field number, negative int32
    const bytes = w.finish()
    // Sanity: protobuf-es accepts the same bytes and reads the same values.
    expect(fromBinary(StaleHeadDetailSchema, bytes)).toMatchObject({ repoId: detail.repoId, ref: 'main' })
    expect(decodeStringFields(bytes, FIELDS)).toEqual({
      repoId: detail.repoId,
      ref: 'main',
      expectedHead: '',
      actualHead: '',
    })
  })

  it('the last occurrence of a field wins, as in protobuf', () => {
    const w = new BinaryWriter()
    w.tag(2, WireType.LengthDelimited).string('first')
    w.tag(2, WireType.LengthDelimited).string('second')
    expect(decodeStringFields(w.finish(), FIELDS).ref).toBe('second')
  })

  it('rejects every truncation of a valid message cleanly', () => {
    const full = reference(detail)
    for (let n = 1; n < full.length; n++) {
      // Cutting exactly between two fields is a valid, shorter message.
      let ok = true
      try {
        decodeStringFields(full.subarray(0, n), FIELDS)
      } catch (err) {
        ok = false
        expect(err).toBeInstanceOf(Error)
        expect((err as Error).message).toMatch(/truncated/)
      }
      const boundary = [0, 1, 2].some((i) => n === fieldEnd(full, i))
      expect(ok).toBe(boundary)
    }
  })

  it('rejects malformed input instead of guessing', () => {
    const cases: [string, number[]][] = [
      ['truncated varint (the "////" garbage case)', [0xff, 0xff, 0xff]],
      ['length past the end', [0x0a, 0x05, 0x61]],
      ['field number 0', [0x02, 0x00]],
      ['wire type 6', [0x0e]],
      ['wire type 7', [0x0f]],
      ['known string field sent as varint', [0x08, 0x01]],
      ['over-long tag varint', [0x80, 0x80, 0x80, 0x80, 0x80, 0x01]],
      ['over-long value varint', [0x48, ...Array(10).fill(0x80), 0x01]],
      ['unterminated group', [0x6b, 0x48, 0x01]],
      ['mismatched end group', [0x6b, 0x74]],
      ['end group outside a group', [0x6c]],
      ['invalid UTF-8 in a known field', [0x0a, 0x02, 0xc3, 0x28]],
    ]
    for (const [why, bytes] of cases) {
      expect(() => decodeStringFields(new Uint8Array(bytes), FIELDS), why).toThrow(Error)
    }
  })

  it('refuses absurdly nested groups without exhausting the stack', () => {
    const depth = 10_000
    const bytes = new Uint8Array([...Array(depth).fill(0x6b), ...Array(depth).fill(0x6c)])
    expect(() => decodeStringFields(bytes, FIELDS)).toThrow(/nested too deeply/)
  })
})

/** Offset just after the i-th field of a message of short length-delimited fields. */
function fieldEnd(bytes: Uint8Array, i: number): number {
  let pos = 0
  for (let k = 0; k <= i; k++) pos += 2 + (bytes[pos + 1] as number)
  return pos
}
