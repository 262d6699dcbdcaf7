import { describe, expect, it } from 'vitest'
import { changedLineCount, unifiedDiff } from '../../../../functions/lib/deploys/diff.js'
import { parsePointer } from '../../../../functions/lib/deploys/json-pointer.js'
import { ExactNumber } from '../../../../functions/lib/deploys/exact-number.js'
import { applyAssignments, removeValueInText, setValueInText } from '../../../../functions/lib/deploys/json-text.js'
import { parseJsonText, stringifyExact } from '../../../../functions/lib/deploys/json-parse.js'
import { ABSENT } from '../../../../functions/lib/deploys/json-values.js'
import { ValidationError } from '../../../../functions/lib/errors.js'

const p = (s: string) => parsePointer(s)

const two = '{\n  "image": "ghcr.io/acme/app:1.0.0",\n  "replicas": 2,\n  "env": {\n    "LOG": "info"\n  }\n}\n'
const four = two.replaceAll('  ', '    ').replace(/\n$/, '')

describe('setValueInText', () => {
  for (const [name, text] of [
    ['2-space indent with trailing newline', two],
    ['4-space indent without trailing newline', four],
    ['CRLF line endings', two.replaceAll('\n', '\r\n')],
    ['tabs', two.replaceAll('  ', '\t')],
  ] as const) {
    it(`a scalar change is a one-line diff (${name})`, () => {
      const out = setValueInText(text, p('/image'), 'ghcr.io/acme/app:1.4.2')
      expect(changedLineCount(text, out)).toEqual({ removed: 1, added: 1 })
      expect(JSON.parse(out).image).toBe('ghcr.io/acme/app:1.4.2')
      expect(out.endsWith('\n')).toBe(text.endsWith('\n'))
      expect(out.replace('ghcr.io/acme/app:1.4.2', 'ghcr.io/acme/app:1.0.0')).toBe(text)
    })
  }

  it('changes a nested scalar in place and keeps key order', () => {
    const out = setValueInText(two, p('/env/LOG'), 'debug')
    expect(out).toBe(two.replace('"info"', '"debug"'))
  })

  it('inserts a new key in the object\'s own indentation and separator', () => {
    const out = setValueInText(four, p('/env/TRACE'), true)
    expect(out).toBe(four.replace('"LOG": "info"', '"LOG": "info",\n        "TRACE": true'))
    const compact = setValueInText('{"a":1}', p('/b'), 2)
    expect(compact).toBe('{"a":1,"b":2}')
  })

  it('creates missing objects along the path and pretty-prints them in the file style', () => {
    const out = setValueInText(two, p('/resources/cpu'), '500m')
    expect(JSON.parse(out).resources).toEqual({ cpu: '500m' })
    expect(out).toContain('  "resources": {\n    "cpu": "500m"\n  }\n}')
  })

  it('fills an empty object on multiple lines and appends to arrays', () => {
    expect(setValueInText('{\n  "a": {}\n}\n', p('/a/b'), 1)).toBe('{\n  "a": {\n    "b": 1\n  }\n}\n')
    expect(setValueInText('{"xs": [1, 2]}', p('/xs/-'), 3)).toBe('{"xs": [1, 2, 3]}')
    expect(setValueInText('{"xs": [1, 2]}', p('/xs/0'), 9)).toBe('{"xs": [9, 2]}')
  })

  it('refuses a pointer into a non-object or past the end of an array', () => {
    expect(() => setValueInText(two, p('/image/tag'), 'x')).toThrow(ValidationError)
    expect(() => setValueInText(two, p('/image/tag'), 'x')).toThrow(/non-object value at \/image/)
    expect(() => setValueInText('{"xs": [1]}', p('/xs/5'), 1)).toThrow(/not a valid index/)
  })

  it('handles escaped keys and strings with braces inside', () => {
    const text = '{\n  "a\\"b": "}{,",\n  "c/d": 1\n}\n'
    const out = setValueInText(text, p('/c~1d'), 2)
    expect(JSON.parse(out)).toEqual({ 'a"b': '}{,', 'c/d': 2 })
    expect(changedLineCount(text, out)).toEqual({ removed: 1, added: 1 })
  })

  it('edits the last of duplicate keys, as JSON.parse reads it', () => {
    const out = setValueInText('{"a": 1, "a": 2}', p('/a'), 3)
    expect(out).toBe('{"a": 1, "a": 3}')
  })
})

describe('removeValueInText', () => {
  it('removes a member with one separator, wherever it is', () => {
    expect(removeValueInText(two, p('/replicas'))).toBe(two.replace('  "replicas": 2,\n', ''))
    expect(JSON.parse(removeValueInText(two, p('/env')))).toEqual({ image: 'ghcr.io/acme/app:1.0.0', replicas: 2 })
    expect(removeValueInText('{"a": {"b": 1}}', p('/a/b'))).toBe('{"a": {}}')
    expect(removeValueInText('{"a": 1}', p('/zz'))).toBe('{"a": 1}')
  })
})

describe('applyAssignments', () => {
  it('skips assignments already in place and checks the result', () => {
    const { text } = applyAssignments(two, [
      { tokens: p('/replicas'), value: 2 },
      { tokens: p('/image'), value: 'x:1' },
      { tokens: p('/env/LOG'), value: ABSENT },
    ])
    expect(JSON.parse(text)).toEqual({ image: 'x:1', replicas: 2, env: {} })
  })

  it('rejects invalid JSON with a clear error', () => {
    expect(() => applyAssignments('{"a": ', [{ tokens: p('/a'), value: 1 }], 'environments/x.json')).toThrow(
      /environments\/x.json is not valid JSON/,
    )
  })
})

describe('unifiedDiff', () => {
  it('shows one removed and one added line for a scalar change', () => {
    const d = unifiedDiff('environments/production.json', two, setValueInText(two, p('/replicas'), 3))
    expect(d).toContain('-  "replicas": 2,\n+  "replicas": 3,')
    expect(d.startsWith('--- a/environments/production.json\n+++ b/environments/production.json\n@@ -1,6 +1,6 @@')).toBe(true)
  })
})

describe('exact numbers', () => {
  const file = '{\n  "big": 98765432109876543210,\n  "f": 0.10000000000000000001,\n  "n": 1.50,\n  "e": 1E3,\n  "image": "a"\n}\n'
  const set = (pointer: string, valueText: string) =>
    applyAssignments(file, [{ tokens: parsePointer(pointer), value: parseJsonText(valueText) }]).text

  it('writes a number a double cannot hold exactly as sent, and leaves every other number spelled as it was', () => {
    const out = set('/replicas', '12345678901234567890')
    expect(out).toBe(file.replace('"image": "a"\n', '"image": "a",\n  "replicas": 12345678901234567890\n'))
    expect(out).toContain('"n": 1.50')
    expect(out).toContain('"e": 1E3')
    expect(out).toContain('"f": 0.10000000000000000001')
  })

  it('compares exact numbers by their text: the same value is a no-op, a neighbour is a change', () => {
    expect(set('/big', '98765432109876543210')).toBe(file)
    expect(set('/big', '98765432109876543211')).toContain('"big": 98765432109876543211,')
    expect(set('/f', '0.10000000000000000002')).toContain('"f": 0.10000000000000000002,')
  })

  it('keeps exact numbers inside a container value, in the file\'s layout', () => {
    const out = set('/obj', '{"x": 12345678901234567891, "y": [1, 2.000000000000000001]}')
    expect(out).toContain('"obj": {\n    "x": 12345678901234567891,\n    "y": [\n      1,\n      2.000000000000000001\n    ]\n  }')
  })

  it('stringifyExact writes exact numbers verbatim and plain values as JSON.stringify does', () => {
    const v = parseJsonText('{"a": 12345678901234567890, "b": [0.1, "x"], "c": null}')
    expect(stringifyExact(v)).toBe('{"a":12345678901234567890,"b":[0.1,"x"],"c":null}')
    expect(parseJsonText('{"a": 1.5, "b": 9007199254740991}')).toEqual({ a: 1.5, b: 9007199254740991 })
    expect(parseJsonText('{"a": 9007199254740993}')).toEqual({ a: new ExactNumber('9007199254740993') })
  })

  it.each(['/__proto__/x', '/constructor', '/a/prototype/b', '/a/__proto__'])('refuses the reserved key in %s with a ValidationError (400)', (pointer) => {
    const err = (() => {
      try {
        parsePointer(pointer)
      } catch (e) {
        return e
      }
    })()
    expect(err).toBeInstanceOf(ValidationError)
    expect((err as ValidationError).status).toBe(400)
    expect((err as Error).message).toMatch(/reserved key/)
  })
})
