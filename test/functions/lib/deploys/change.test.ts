import { describe, expect, it } from 'vitest'
import { DEFAULT_LAYOUT, normalizeChange } from '../../../../functions/lib/deploys/change.js'
import { ValidationError } from '../../../../functions/lib/errors.js'

function refusal(change: unknown, layout = DEFAULT_LAYOUT): ValidationError {
  try {
    normalizeChange(change, layout)
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError)
    return err as ValidationError
  }
  throw new Error('accepted')
}

describe('image references', () => {
  it.each([
    'app',
    'app:1',
    'ghcr.io/acme/app:1.4.2',
    '123456789012.dkr.ecr.eu-west-1.amazonaws.com/acme/app:v1.5.0',
    'localhost:5000/team/sub/app:latest',
    `app@sha256:${'0'.repeat(64)}`,
    `registry.example.com/app:1.0@sha256:${'f'.repeat(64)}`,
  ])('accepts %s, through image and through set', (image) => {
    expect(normalizeChange({ image }).image).toBe(image)
    expect(normalizeChange({ set: { '/image': image } }).assignments[0]?.value).toBe(image)
  })

  it.each(['<b>x</b>', 'App:1', 'app:1 x', 'app:-1', 'app@sha256:short', 'ghcr.io//app', 'app:1"', '/app', 'app/'])('refuses %j', (image) => {
    expect(refusal({ image })).toMatchObject({ field: 'image' })
    expect(refusal({ set: { '/image': image } })).toMatchObject({ field: 'set', message: expect.stringContaining('set /image must be an image reference') })
  })

  it('checks every pointer the layout declares an image, and leaves other keys alone', () => {
    const layout = { ...DEFAULT_LAYOUT, imagePointers: ['/sidecar/image'] }
    expect(refusal({ set: { '/sidecar/image': '<svg>' } }, layout)).toMatchObject({ field: 'set' })
    expect(normalizeChange({ set: { '/note': '<svg>' } }, layout).assignments[0]?.value).toBe('<svg>')
  })
})
