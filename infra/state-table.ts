/**
 * The shared-state table (issue 11's single-table design): every guarantee
 * that must hold across Lambda containers (mint once, revoke anywhere, global
 * rate limits, idempotency, event order, the per-repo write lease) lives here.
 *
 * Key schema (the shared-state contract): partition key `pk` (String), no
 * sort key, TTL attribute `expiresAt` (epoch seconds) on every item. The item
 * kind is the pk prefix, and IAM narrows each function to its own kinds with
 * `dynamodb:LeadingKeys`, so a bug in the status function cannot touch a
 * lease and the token function cannot forge an idempotency record.
 */
import { RemovalPolicy } from 'aws-cdk-lib'
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb'
import * as iam from 'aws-cdk-lib/aws-iam'
import { Construct } from 'constructs'
import type { FunctionName } from './broker-function.js'

/** Item-level actions only: the store gets, puts, updates and deletes single items (no Scan, no Query). */
export const STATE_TABLE_ACTIONS = [
  'dynamodb:GetItem',
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
] as const

/** pk prefixes each function may read and write (the shared-state contract in docs/state.md). */
export const STATE_KEY_PREFIXES: Record<FunctionName, readonly string[]> = {
  token: ['replay#', 'token#', 'rate#', 'ip#'],
  deploy: ['rate#', 'ip#', 'idem#', 'order#', 'lease#'],
  status: ['rate#', 'ip#'],
  events: ['idem#', 'order#', 'lease#'],
}

export interface StateTableProps {
  /** Physical table name; the stage is part of it so stages never share state. */
  tableName: string
  /** Deletion protection (non-dev stages). */
  protect: boolean
}

/** The table and the per-function grants. */
export class StateTable extends Construct {
  readonly table: dynamodb.TableV2

  constructor(scope: Construct, id: string, props: StateTableProps) {
    super(scope, id)
    this.table = new dynamodb.TableV2(this, 'Table', {
      tableName: props.tableName,
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      timeToLiveAttribute: 'expiresAt',
      billing: dynamodb.Billing.onDemand(),
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      // Idempotency records and watermarks outlive a stack replacement: deleting
      // them would let an old event regress an image after a redeploy.
      removalPolicy: RemovalPolicy.RETAIN,
      deletionProtection: props.protect,
    })
  }

  /**
   * Lets `fn` use the item actions on its own key prefixes only. The condition
   * is ForAllValues: every leading key in the request must match a prefix
   * (with ForAnyValue one matching key would unlock the rest of a batch).
   */
  grantFunction(grantee: iam.IGrantable, fn: FunctionName): void {
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: [...STATE_TABLE_ACTIONS],
        resources: [this.table.tableArn],
        conditions: {
          'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': STATE_KEY_PREFIXES[fn].map((p) => `${p}*`) },
        },
      }),
    )
  }
}
