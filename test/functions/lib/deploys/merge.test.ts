import { describe, expect, it } from 'vitest'
import { parsePointer } from '../../../../functions/lib/deploys/json-pointer.js'
import { merge3 } from '../../../../functions/lib/deploys/merge.js'

const base = '{\n  "image": "app:1",\n  "replicas": 2,\n  "env": {\n    "LOG": "info"\n  }\n}\n'
const set = (text: string, from: string, to: string) => text.replace(from, to)

describe('merge3', () => {
  it('applies our key on top of their change to another key, in their text', () => {
    const ours = set(base, '"app:1"', '"app:2"')
    const theirs = set(base, '"replicas": 2', '"replicas": 5')
    const m = merge3({ baseText: base, oursText: ours, theirsText: theirs, intent: [parsePointer('/image')] })
    expect(m.conflicts).toEqual([])
    expect(JSON.parse(m.text)).toEqual({ image: 'app:2', replicas: 5, env: { LOG: 'info' } })
    expect(m.applied).toEqual(['/image'])
  })

  it('is a no-op when they already set our key to our value', () => {
    const ours = set(base, '"app:1"', '"app:2"')
    const m = merge3({ baseText: base, oursText: ours, theirsText: ours, intent: [parsePointer('/image')] })
    expect(m.text).toBe(ours)
    expect(m.conflicts).toEqual([])
  })

  it('reports a conflict naming the key and both values, and applies none of the intent', () => {
    const ours = set(set(base, '"app:1"', '"app:2"'), '"replicas": 2', '"replicas": 3')
    const theirs = set(base, '"app:1"', '"app:9"')
    const m = merge3({
      baseText: base,
      oursText: ours,
      theirsText: theirs,
      intent: [parsePointer('/image'), parsePointer('/replicas')],
    })
    expect(m.conflicts).toEqual([{ pointer: '/image', ours: 'app:2', theirs: 'app:9', base: 'app:1' }])
    expect(m.text).toBe(theirs)
  })

  it('restores non-intent changes (what a clobbering write removed), keeping theirs on a clash', () => {
    // base = what our earlier commit wrote; ours = that plus a restored key and a restored removal.
    const ours = set(set(base, '"replicas": 2,\n', ''), '"LOG": "info"', '"LOG": "debug"')
    const theirs = set(base, '"LOG": "info"', '"LOG": "warn"')
    const m = merge3({ baseText: base, oursText: ours, theirsText: theirs, intent: [] })
    expect(JSON.parse(m.text)).toEqual({ image: 'app:1', env: { LOG: 'warn' } })
    expect(m.dropped).toEqual([{ pointer: '/env/LOG', ours: 'debug', theirs: 'warn', base: 'info' }])
  })

  it('treats a removal of our key by them as a conflict', () => {
    const ours = set(base, '"LOG": "info"', '"LOG": "debug"')
    const theirs = set(base, ',\n  "env": {\n    "LOG": "info"\n  }', '')
    const m = merge3({ baseText: base, oursText: ours, theirsText: theirs, intent: [parsePointer('/env/LOG')] })
    expect(m.conflicts[0]).toMatchObject({ pointer: '/env/LOG', ours: 'debug', theirs: undefined })
  })
})
