/**
 * Single use of OIDC tokens across every container: a conditional PutItem
 * that succeeds only if the key is new, or its record has expired and TTL
 * deletion (which is lazy) has not removed it yet.
 */
import { ReplayStoreUnavailableError } from '../auth/errors.js'
import type { ReplayStore } from '../auth/replay.js'
import { ConditionFailed, N, S } from './dynamodb.js'
import { PK, PREFIX, type StateTable, TTL, epochSeconds } from './table.js'

export function createDynamoReplayStore(table: StateTable): ReplayStore {
  const fail = (err: unknown): never => {
    throw new ReplayStoreUnavailableError('replay store (DynamoDB) did not answer; try again', { cause: err })
  }
  return {
    async claim(key, expiresAt) {
      try {
        await table.db.call('PutItem', {
          TableName: table.name,
          Item: { [PK]: S(PREFIX.replay + key), [TTL]: N(epochSeconds(expiresAt.getTime())) },
          ConditionExpression: 'attribute_not_exists(#pk) OR #ttl < :now',
          ExpressionAttributeNames: { '#pk': PK, '#ttl': TTL },
          ExpressionAttributeValues: { ':now': N(Math.floor(table.clock().getTime() / 1000)) },
        })
        return true
      } catch (err) {
        if (err instanceof ConditionFailed) return false
        return fail(err)
      }
    },
    async release(key) {
      try {
        await table.db.call('DeleteItem', { TableName: table.name, Key: { [PK]: S(PREFIX.replay + key) } })
      } catch (err) {
        fail(err)
      }
    },
  }
}
