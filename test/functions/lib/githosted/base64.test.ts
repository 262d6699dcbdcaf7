import { describe, expect, it } from 'vitest'
import { decodeBase64, encodeBase64 } from '../../../../functions/lib/githosted/base64.js'

// 0xfb 0xff 0xfe encodes to "+//+" (std) / "-__-" (url): the alphabets really differ.
const BYTES = new Uint8Array([0xfb, 0xff, 0xfe, 0x61])

describe('base64', () => {
  it('encodes with the standard alphabet and padding (proto3 JSON canonical form)', () => {
    expect(encodeBase64(BYTES)).toBe('+//+YQ==')
    expect(encodeBase64(new Uint8Array(0))).toBe('')
    // A view into a larger buffer encodes only its own bytes.
    expect(encodeBase64(new Uint8Array([0, 0x61, 0]).subarray(1, 2))).toBe('YQ==')
  })

  it('decodes std and url-safe, padded or not, to a plain Uint8Array', () => {
    for (const text of ['+//+YQ==', '+//+YQ', '-__-YQ==', '-__-YQ']) {
      const out = decodeBase64(text)
      expect(out.constructor, text).toBe(Uint8Array)
      expect([...out], text).toEqual([...BYTES])
    }
    expect([...decodeBase64('YWI=')]).toEqual([0x61, 0x62])
    expect(decodeBase64('')).toHaveLength(0)
  })

  it('rejects what is not base64 instead of skipping characters as Buffer does', () => {
    for (const bad of ['YQ=', 'Y', 'YQ===', 'Y Q==', 'YQ==YQ==', '*abc', 'ab\n', 'a=bc']) {
      expect(() => decodeBase64(bad), JSON.stringify(bad)).toThrow(/invalid base64/)
    }
  })
})
