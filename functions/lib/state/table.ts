/**
 * The one state table every function shares (docs/state-model.md): partition
 * key `pk` only, TTL attribute `expiresAt` (epoch seconds) on every item, and
 * one pk prefix per kind of item, so IAM can narrow each function to its own
 * prefixes (`dynamodb:LeadingKeys`). Keys hash what they are built from:
 * identities, repo slugs and token ids never appear in the table in clear.
 */
export { hashKey } from '../hash-key.js'
import type { DynamoDb } from './dynamodb.js'

export const PK = 'pk'
export const TTL = 'expiresAt'

/** Item kinds and their pk prefixes (the IAM contract in infra/ uses the same strings). */
export const PREFIX = {
  replay: 'replay#',
  token: 'token#',
  rate: 'rate#',
  ip: 'ip#',
  idempotency: 'idem#',
  order: 'order#',
  lease: 'lease#',
} as const

/** A table and the clock its stores read. */
export interface StateTable {
  db: DynamoDb
  name: string
  clock: () => Date
}

export const epochSeconds = (ms: number): number => Math.ceil(ms / 1000)
