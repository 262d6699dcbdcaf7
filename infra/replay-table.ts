/**
 * Optional DynamoDB table shared by all containers: single-use claims for OIDC
 * tokens (replay protection across containers) and idempotency keys for
 * deploys. Layout matches functions/lib/auth/replay-dynamodb.ts: partition key
 * `pk` (string), TTL attribute `expiresAt` (epoch seconds).
 */
import { RemovalPolicy } from 'aws-cdk-lib'
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb'
import type * as iam from 'aws-cdk-lib/aws-iam'
import { Construct } from 'constructs'

/** Item-level actions only: the stores put, read, update and delete single items. */
export const REPLAY_TABLE_ACTIONS = [
  'dynamodb:PutItem',
  'dynamodb:GetItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
] as const

/** The replay/idempotency table. */
export class ReplayTable extends Construct {
  readonly table: dynamodb.TableV2

  constructor(scope: Construct, id: string) {
    super(scope, id)
    this.table = new dynamodb.TableV2(this, 'Table', {
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      timeToLiveAttribute: 'expiresAt',
      billing: dynamodb.Billing.onDemand(),
      // Every item expires within hours; nothing here is worth keeping or restoring.
      removalPolicy: RemovalPolicy.DESTROY,
    })
  }

  /** Lets a function claim, read and release items. */
  grantItemAccess(grantee: iam.IGrantable): void {
    this.table.grant(grantee, ...REPLAY_TABLE_ACTIONS)
  }
}
