import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  DynamoDBClient,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb'
import { mockClient } from 'aws-sdk-client-mock'
import { afterEach, describe, expect, it } from 'vitest'
import { DynamoDbReplayStore } from '../../../../functions/lib/auth/replay-dynamodb.js'

const ddb = mockClient(DynamoDBClient)
afterEach(() => ddb.reset())

const now = new Date('2030-01-01T00:00:00Z')
const store = () =>
  new DynamoDbReplayStore({ client: new DynamoDBClient({ region: 'eu-west-1' }), tableName: 'replay', clock: () => now })

describe('DynamoDbReplayStore', () => {
  it('claims with a conditional PutItem carrying the TTL', async () => {
    ddb.on(PutItemCommand).resolves({})
    const expiresAt = new Date(now.getTime() + 300_500)
    expect(await store().claim('abc', expiresAt)).toBe(true)
    const input = ddb.commandCalls(PutItemCommand)[0]?.args[0].input
    expect(input).toEqual({
      TableName: 'replay',
      Item: { pk: { S: 'replay#abc' }, expiresAt: { N: String(Math.ceil(expiresAt.getTime() / 1000)) } },
      ConditionExpression: 'attribute_not_exists(#k) OR #t < :now',
      ExpressionAttributeNames: { '#k': 'pk', '#t': 'expiresAt' },
      ExpressionAttributeValues: { ':now': { N: String(now.getTime() / 1000) } },
    })
  })

  it('reports a replay when the condition fails', async () => {
    ddb.on(PutItemCommand).rejects(new ConditionalCheckFailedException({ message: 'exists', $metadata: {} }))
    expect(await store().claim('abc', new Date(now.getTime() + 1000))).toBe(false)
  })

  it('fails closed on any other error', async () => {
    for (const name of ['ProvisionedThroughputExceededException', 'AccessDeniedException', 'TimeoutError']) {
      const err = Object.assign(new Error('boom'), { name })
      ddb.on(PutItemCommand).rejects(err)
      await expect(store().claim('abc', new Date(now.getTime() + 1000))).rejects.toMatchObject({
        code: 'REPLAY_STORE_UNAVAILABLE',
        status: 503,
      })
    }
  })

  it('release deletes the item', async () => {
    ddb.on(DeleteItemCommand).resolves({})
    await store().release('abc')
    expect(ddb.commandCalls(DeleteItemCommand)[0]?.args[0].input).toEqual({
      TableName: 'replay',
      Key: { pk: { S: 'replay#abc' } },
    })
  })
})
