/**
 * Git's blob id of some content: sha1 over `blob <byte length>\0` + bytes.
 * Used when the server does not return `sha` with a read, so `blobSha` always
 * means the same thing, whichever server answered.
 */
import { createHash } from 'node:crypto'

export function gitBlobSha(content: Uint8Array): string {
  return createHash('sha1').update(`blob ${content.byteLength}\0`).update(content).digest('hex')
}
