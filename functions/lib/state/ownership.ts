/**
 * Who minted which token, in the shared table, so that a revoke reaching any
 * container finds the record. The record dies with the token (TTL = expiry).
 */
import type { OwnershipStore } from '../tokens/ownership.js'
import { N, S, num, str, type Item } from './dynamodb.js'
import { PK, PREFIX, type StateTable, TTL, epochSeconds, hashKey } from './table.js'

export function createDynamoOwnershipStore(table: StateTable): OwnershipStore {
  const key = (tokenId: string) => ({ [PK]: S(PREFIX.token + hashKey(tokenId)) })
  return {
    async put(record) {
      await table.db.call('PutItem', {
        TableName: table.name,
        Item: {
          ...key(record.tokenId),
          owner: S(record.owner),
          until: N(record.expiresAt.getTime()),
          [TTL]: N(epochSeconds(record.expiresAt.getTime())),
        },
      })
    },
    async get(tokenId) {
      const out = await table.db.call<{ Item?: Item }>('GetItem', { TableName: table.name, Key: key(tokenId), ConsistentRead: true })
      const until = num(out.Item, 'until')
      const owner = str(out.Item, 'owner')
      if (until === undefined || owner === undefined || until <= table.clock().getTime()) return undefined
      return { tokenId, owner, expiresAt: new Date(until) }
    },
    async delete(tokenId) {
      await table.db.call('DeleteItem', { TableName: table.name, Key: key(tokenId) })
    },
  }
}
