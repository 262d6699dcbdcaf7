/**
 * What a deploy may ask for, validated before anything is read: the
 * environment name (which becomes a path, so it is checked strictly), the
 * config layout, and the change itself (an image or JSON-pointer
 * assignments) with size limits.
 */
import { ValidationError } from '../errors.js'
import { formatPointer, parsePointer, pointerContains } from './json-pointer.js'
import { isRepoRef, REPO_REF_RULE } from '../repo-ref.js'

/** Where environments, holds and the optional schema live in the config repo. */
export interface ConfigLayout {
  environmentsDir: string
  extension: string
  holdsDir: string
  /** Optional JSON Schema every environment file must satisfy; absent file = no schema. */
  schemaPath?: string
  /** Pointer that an `image` change sets. */
  imagePointer: string
  /**
   * Further pointers that hold image references (the deploy mapping's ECR
   * pointers): `set` on them, like on imagePointer, must pass the image check.
   */
  imagePointers?: string[]
}

export const DEFAULT_LAYOUT: ConfigLayout = {
  environmentsDir: 'environments',
  extension: '.json',
  holdsDir: 'holds',
  schemaPath: 'schemas/environment.schema.json',
  imagePointer: '/image',
}

export const LIMITS = {
  /** One assigned value, serialized. */
  valueBytes: 16 * 1024,
  /** An image reference (registry/repository:tag@digest is far shorter in practice). */
  imageChars: 512,
  assignments: 32,
  /** The resulting file; a config bigger than this is not what this service edits. */
  fileBytes: 512 * 1024,
} as const

const ENV_RE = /^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,62})$/

/** Checks an environment name; it becomes part of a path, so no separators, no dot-dot. */
export function validateEnvironmentName(env: unknown, field = 'environment'): string {
  if (typeof env !== 'string' || env === '') throw new ValidationError('environment is required.', field)
  if (!ENV_RE.test(env) || env.includes('..')) {
    throw new ValidationError(
      'environment must be 1-63 characters of letters, digits, ".", "_" or "-", start with a letter or digit, and contain no "..".',
      field,
    )
  }
  return env
}

/** Checks a repo slug or rp_ id (also a path component on the server). */
export function validateRepoRef(repo: unknown, field = 'repo'): string {
  if (!isRepoRef(repo)) throw new ValidationError(`${field} must be ${REPO_REF_RULE}.`, field)
  return repo as string
}

export function environmentPath(env: string, layout: ConfigLayout = DEFAULT_LAYOUT): string {
  return `${layout.environmentsDir}/${validateEnvironmentName(env)}${layout.extension}`
}

export function holdPath(env: string, layout: ConfigLayout = DEFAULT_LAYOUT): string {
  return `${layout.holdsDir}/${validateEnvironmentName(env)}.json`
}

/** An image to set (at the layout's image pointer) or a set of pointer → value assignments. */
export type ConfigChange = { image: string } | { set: Record<string, unknown> }

export interface NormalizedAssignment {
  pointer: string
  tokens: string[]
  value: unknown
}

export interface NormalizedChange {
  assignments: NormalizedAssignment[]
  /** Set when the change is an image (used for the commit subject). */
  image?: string
}

// An OCI image reference: [host[:port]/]path[:tag][@algorithm:hex], as the distribution
// reference grammar has it (path components lower-case). Nothing else (no markup, no spaces).
const PATH_COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*'
const IMAGE_REF_RE = new RegExp(
  `^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?(?::[0-9]{1,5})?/)?` +
    `${PATH_COMPONENT}(?:/${PATH_COMPONENT})*` +
    '(?::[A-Za-z0-9_][A-Za-z0-9._-]{0,127})?' +
    '(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?$',
)

function checkImage(image: unknown, where = 'image', field = 'image'): string {
  if (typeof image !== 'string' || image.trim() === '') throw new ValidationError(`${where} must be a non-empty string.`, field)
  if (image.length > LIMITS.imageChars) throw new ValidationError(`${where} is longer than ${LIMITS.imageChars} characters.`, field)
  if (!IMAGE_REF_RE.test(image)) {
    throw new ValidationError(
      `${where} must be an image reference like registry.example.com/team/app:1.4.2 or app@sha256:<hex> (lower-case path; no spaces, quotes or markup).`,
      field,
    )
  }
  return image
}

function checkValue(pointer: string, value: unknown): void {
  if (value === undefined) throw new ValidationError(`set ${pointer}: a value is required (null is allowed).`, 'set')
  let text: string
  try {
    text = JSON.stringify(value)
  } catch {
    throw new ValidationError(`set ${pointer}: the value is not JSON-serializable.`, 'set')
  }
  if (Buffer.byteLength(text) > LIMITS.valueBytes) {
    throw new ValidationError(`set ${pointer}: the value is larger than ${LIMITS.valueBytes} bytes.`, 'set')
  }
}

/** Validates a change and turns it into assignments. */
export function normalizeChange(change: unknown, layout: ConfigLayout = DEFAULT_LAYOUT): NormalizedChange {
  if (typeof change !== 'object' || change === null) throw new ValidationError('Give either image or set.', 'image')
  const c = change as Record<string, unknown>
  const hasImage = c.image !== undefined
  const hasSet = c.set !== undefined
  if (hasImage === hasSet) throw new ValidationError('Give exactly one of image or set.', hasImage ? 'set' : 'image')
  if (hasImage) {
    const image = checkImage(c.image)
    const tokens = parsePointer(layout.imagePointer, 'imagePointer')
    return { image, assignments: [{ pointer: formatPointer(tokens), tokens, value: image }] }
  }
  const set = c.set
  if (typeof set !== 'object' || set === null || Array.isArray(set)) {
    throw new ValidationError('set must be an object of JSON pointer → value, e.g. {"/replicas": 3}.', 'set')
  }
  const entries = Object.entries(set)
  if (entries.length === 0) throw new ValidationError('set must name at least one key.', 'set')
  if (entries.length > LIMITS.assignments) throw new ValidationError(`set may name at most ${LIMITS.assignments} keys.`, 'set')
  const imagePointers = new Set([layout.imagePointer, ...(layout.imagePointers ?? [])].map((p) => formatPointer(parsePointer(p, 'imagePointer'))))
  const assignments = entries.map(([pointer, value]) => {
    const tokens = parsePointer(pointer, 'set')
    if (tokens.length === 0) throw new ValidationError('set: the empty pointer (whole document) cannot be assigned.', 'set')
    checkValue(pointer, value)
    const formatted = formatPointer(tokens)
    // An image key gets the same check whichever way it is written.
    if (imagePointers.has(formatted)) checkImage(value, `set ${formatted}`, 'set')
    return { pointer: formatted, tokens, value }
  })
  for (const a of assignments) {
    for (const b of assignments) {
      if (a !== b && pointerContains(a.tokens, b.tokens)) {
        throw new ValidationError(`set: ${a.pointer} and ${b.pointer} overlap; name each key once.`, 'set')
      }
    }
  }
  return { assignments }
}
