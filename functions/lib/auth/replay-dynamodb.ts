/**
 * Replay store on DynamoDB, shared by every container: a conditional PutItem
 * that succeeds only if the key is new (or its record has expired but TTL
 * deletion, which is lazy, has not removed it yet). Kept in its own module so
 * bundles that do not use DynamoDB do not carry the SDK.
 *
 * Table: partition key `pk` (string); enable TTL on `expiresAt` (epoch seconds).
 */
import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  PutItemCommand,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb'
import { ReplayStoreUnavailableError } from './errors.js'
import type { ReplayStore } from './replay.js'

export interface DynamoDbReplayStoreOptions {
  client: Pick<DynamoDBClient, 'send'>
  tableName: string
  /** Partition key attribute. Default `pk`. */
  keyAttribute?: string
  /** TTL attribute (epoch seconds). Default `expiresAt`. */
  ttlAttribute?: string
  /** Namespaces replay keys in a table shared with other records. Default `replay#`. */
  keyPrefix?: string
  clock?: () => Date
}

export class DynamoDbReplayStore implements ReplayStore {
  private readonly keyAttribute: string
  private readonly ttlAttribute: string
  private readonly keyPrefix: string
  private readonly clock: () => Date

  constructor(private readonly options: DynamoDbReplayStoreOptions) {
    this.keyAttribute = options.keyAttribute ?? 'pk'
    this.ttlAttribute = options.ttlAttribute ?? 'expiresAt'
    this.keyPrefix = options.keyPrefix ?? 'replay#'
    this.clock = options.clock ?? (() => new Date())
  }

  async claim(key: string, expiresAt: Date): Promise<boolean> {
    const now = Math.floor(this.clock().getTime() / 1000)
    try {
      await this.options.client.send(
        new PutItemCommand({
          TableName: this.options.tableName,
          Item: {
            [this.keyAttribute]: { S: this.keyPrefix + key },
            [this.ttlAttribute]: { N: String(Math.ceil(expiresAt.getTime() / 1000)) },
          },
          ConditionExpression: 'attribute_not_exists(#k) OR #t < :now',
          ExpressionAttributeNames: { '#k': this.keyAttribute, '#t': this.ttlAttribute },
          ExpressionAttributeValues: { ':now': { N: String(now) } },
        }),
      )
      return true
    } catch (err) {
      if (isConditionalCheckFailed(err)) return false
      throw new ReplayStoreUnavailableError('replay store (DynamoDB) did not answer', { cause: err })
    }
  }

  async release(key: string): Promise<void> {
    try {
      await this.options.client.send(
        new DeleteItemCommand({
          TableName: this.options.tableName,
          Key: { [this.keyAttribute]: { S: this.keyPrefix + key } },
        }),
      )
    } catch (err) {
      throw new ReplayStoreUnavailableError('replay store (DynamoDB) did not answer', { cause: err })
    }
  }
}

function isConditionalCheckFailed(err: unknown): boolean {
  return (
    err instanceof ConditionalCheckFailedException ||
    (err instanceof Error && err.name === 'ConditionalCheckFailedException')
  )
}
