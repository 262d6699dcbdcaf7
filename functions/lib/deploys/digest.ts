/**
 * Image digests next to image references. An environment file may pin its
 * image by digest in two ways: inside the reference (`app:1.4.2@sha256:…`)
 * or in a sibling key named after the image key plus `Digest` (`/image` →
 * `/imageDigest`), which keeps the tag readable and diffs one line each.
 */
import { ValidationError } from '../errors.js'
import { formatPointer, parsePointer } from './json-pointer.js'

/** What ECR, OCI registries and `docker inspect` print: sha256 over the manifest. */
export const DIGEST_RE = /^sha256:[0-9a-f]{64}$/

/** The key that carries the digest of the image at `imagePointer`: `/image` → `/imageDigest`. */
export function digestPointerFor(imagePointer: string): string {
  return `${formatPointer(parsePointer(imagePointer, 'imagePointer'))}Digest`
}

/** Splits `name[:tag][@digest]` into the part before the digest and the digest. */
export function splitImage(image: string): { name: string; digest?: string } {
  const at = image.lastIndexOf('@')
  return at < 0 ? { name: image } : { name: image.slice(0, at), digest: image.slice(at + 1) }
}

/** `name[:tag]@digest`, replacing a digest the reference already had. */
export function pinnedReference(image: string, digest: string): string {
  return `${splitImage(image).name}@${digest}`
}

export function checkDigest(value: unknown, field = 'digest'): string {
  if (typeof value !== 'string' || !DIGEST_RE.test(value)) {
    throw new ValidationError(`${field} must be an image digest: sha256: followed by 64 lower-case hex digits.`, field)
  }
  return value
}

/**
 * How a promotion writes the digest into the target (config/deploy-mapping.json
 * `promotions`, per repo): `field` keeps the source's reference in the image key
 * and writes the digest to its sibling key (`/imageDigest`); `reference` writes
 * `name:tag@sha256:…` into the image key itself.
 */
export type DigestMode = 'field' | 'reference'

export interface PromotionSettings {
  digest: DigestMode
}

export const DEFAULT_PROMOTION_SETTINGS: PromotionSettings = { digest: 'field' }
