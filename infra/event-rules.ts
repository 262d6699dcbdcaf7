/**
 * EventBridge wiring for the events function:
 *  - custom deploy requests arrive on the stage's own bus, whose resource
 *    policy names the accounts and principals allowed to send them, and whose
 *    rule accepts only events from those accounts (and the stack's own);
 *  - ECR pushes of mapped repositories stay on the default bus (ECR publishes
 *    nowhere else), filtered to the stack's own account.
 * Nobody with `events:PutEvents` on the default bus can request a deploy.
 *
 * Two retry layers exist and both are set (anchors-deploy.md section 9):
 * EventBridge retries *delivery* to Lambda (the target's retry policy), and once
 * Lambda has accepted the event, Lambda's async invoke config retries function
 * errors. Whatever exhausts either ends up in the same encrypted SQS queue,
 * which has an alarm on its depth.
 */
import { Annotations, Aws, Duration, RemovalPolicy } from 'aws-cdk-lib'
import * as events from 'aws-cdk-lib/aws-events'
import * as iam from 'aws-cdk-lib/aws-iam'
import * as targets from 'aws-cdk-lib/aws-events-targets'
import type * as lambda from 'aws-cdk-lib/aws-lambda'
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations'
import * as sqs from 'aws-cdk-lib/aws-sqs'
import { Construct } from 'constructs'
import { CUSTOM_DETAIL_TYPE, CUSTOM_SOURCE } from '../functions/events/parse.js'
import { senderAccount } from './config.js'
import type { EcrFilters, RepositoryFilter } from './deploy-mapping.js'

/** The custom event a pipeline puts on the stage's bus to request a deploy (defined by the events function). */
export const DEPLOY_REQUEST_EVENT = { source: CUSTOM_SOURCE, detailType: CUSTOM_DETAIL_TYPE } as const

/** Retry settings, exported so tests and docs state the same numbers. */
export const RETRY = {
  /** EventBridge -> Lambda delivery (throttled or unavailable Lambda service). */
  deliveryAttempts: 8,
  deliveryMaxAge: Duration.hours(2),
  /** Lambda async retries of function errors (0-2). */
  functionRetries: 2,
  functionMaxAge: Duration.hours(1),
  /** How long failed events wait in the DLQ for an operator. */
  dlqRetention: Duration.days(14),
} as const

export interface BrokerEventRulesProps {
  handler: lambda.IFunction
  /** ECR repositories whose pushes trigger deploys; none = no ECR rule. */
  ecr: EcrFilters
  /** Physical name prefix, stage included (`githosted-ci-broker-<stage>`). */
  namePrefix: string
  /** Accounts and IAM principal ARNs allowed to put deploy requests (config eventSenders). */
  senders: string[]
  /** Schedule for the mapping's autoPromote paths (config autoPromoteSchedule); unset = no rule. */
  autoPromoteSchedule?: string
}

/** Rules, targets, async config and the dead-letter queue of the events function. */
export class BrokerEventRules extends Construct {
  readonly deadLetterQueue: sqs.Queue
  readonly ecrRule?: events.Rule
  readonly ecrUntaggedRule?: events.Rule
  readonly deployRequestRule: events.Rule
  readonly autoPromoteRule?: events.Rule
  readonly bus: events.EventBus

  constructor(scope: Construct, id: string, props: BrokerEventRulesProps) {
    super(scope, id)

    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      queueName: `${props.namePrefix}-events-dlq`,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: RETRY.dlqRetention,
      // Failed deploys waiting for an operator outlive the stack (docs/dlq.md).
      removalPolicy: RemovalPolicy.RETAIN,
    })

    this.bus = new events.EventBus(this, 'DeployRequestBus', {
      eventBusName: `${props.namePrefix}-deploy-requests`,
      description: 'Deploy Requested events for githosted-ci-broker (senders limited by the bus policy)',
    })
    // Same-account senders need only their own IAM permission on this bus ARN;
    // other accounts and principals must be named here.
    for (const [i, sender] of props.senders.entries()) {
      this.bus.addToResourcePolicy(
        new iam.PolicyStatement({
          sid: `AllowSender${i}`,
          principals: [/^\d{12}$/.test(sender) ? new iam.AccountPrincipal(sender) : new iam.ArnPrincipal(sender)],
          actions: ['events:PutEvents'],
          resources: [this.bus.eventBusArn],
          // Only the deploy-request event: a sender cannot put anything else on the bus.
          conditions: {
            StringEquals: { 'events:source': [DEPLOY_REQUEST_EVENT.source], 'events:detail-type': [DEPLOY_REQUEST_EVENT.detailType] },
          },
        }),
      )
    }
    const senderAccounts = [...new Set(props.senders.map(senderAccount))]

    const target = new targets.LambdaFunction(props.handler, {
      retryAttempts: RETRY.deliveryAttempts,
      maxEventAge: RETRY.deliveryMaxAge,
      deadLetterQueue: this.deadLetterQueue,
    })

    if (props.ecr.tagged.length > 0) {
      this.ecrRule = new events.Rule(this, 'EcrPushRule', {
        description: 'Successful, tagged ECR image pushes of repositories in config/deploy-mapping.json',
        eventPattern: { ...ecrPushPattern(props.ecr.tagged, { tagged: true }), account: [Aws.ACCOUNT_ID] },
        targets: [target],
      })
    }
    if (props.ecr.untagged.length > 0) {
      // Mappings whose imageFormat has no {tag} (digest pins) also act on untagged pushes.
      this.ecrUntaggedRule = new events.Rule(this, 'EcrDigestPushRule', {
        description: 'Successful ECR image pushes (tagged or not) of repositories mapped by digest',
        eventPattern: { ...ecrPushPattern(props.ecr.untagged, { tagged: false }), account: [Aws.ACCOUNT_ID] },
        targets: [target],
      })
    }
    if (props.ecr.tagged.length + props.ecr.untagged.length === 0) {
      Annotations.of(this).addWarningV2(
        'githosted-ci-broker:no-ecr-repositories',
        'No ECR repositories mapped (config/deploy-mapping.json absent and no ecrRepositories context): ' +
          'the ECR push rule is not created; only deploy-request events reach the events function.',
      )
    }

    this.deployRequestRule = new events.Rule(this, 'DeployRequestRule', {
      description: 'Custom deploy-request events for githosted-ci-broker, from the allowed accounts only',
      eventBus: this.bus,
      eventPattern: {
        source: [DEPLOY_REQUEST_EVENT.source],
        detailType: [DEPLOY_REQUEST_EVENT.detailType],
        account: [Aws.ACCOUNT_ID, ...senderAccounts],
      },
      targets: [target],
    })

    // Off unless configured: promotions then only happen on request (POST /v1/promotions).
    if (props.autoPromoteSchedule) {
      this.autoPromoteRule = new events.Rule(this, 'AutoPromoteRule', {
        description: "Runs config/deploy-mapping.json's autoPromote paths once their gates pass",
        schedule: events.Schedule.expression(props.autoPromoteSchedule),
        targets: [target],
      })
    }

    props.handler.configureAsyncInvoke({
      retryAttempts: RETRY.functionRetries,
      maxEventAge: RETRY.functionMaxAge,
      onFailure: new SqsDestination(this.deadLetterQueue),
    })
  }
}

/**
 * ECR "ECR Image Action" for successful pushes. With `tagged`, pushes without
 * an `image-tag` (manifest lists' children, digest-only pushes) are filtered
 * out by the bus, not by the function.
 */
export function ecrPushPattern(repositories: RepositoryFilter[], options: { tagged: boolean }): events.EventPattern {
  return {
    source: ['aws.ecr'],
    detailType: ['ECR Image Action'],
    detail: {
      'action-type': ['PUSH'],
      result: ['SUCCESS'],
      // Wildcard objects are valid pattern values; the L2 type only spells out strings.
      'repository-name': repositories as string[],
      ...(options.tagged ? { 'image-tag': events.Match.exists() } : {}),
    },
  }
}
