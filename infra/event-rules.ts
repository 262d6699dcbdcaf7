/**
 * EventBridge wiring for the events function: ECR pushes of mapped
 * repositories and the custom deploy-request event, both on the default bus.
 *
 * Two retry layers exist and both are set (anchors-deploy.md section 9):
 * EventBridge retries *delivery* to Lambda (the target's retry policy), and once
 * Lambda has accepted the event, Lambda's async invoke config retries function
 * errors. Whatever exhausts either ends up in the same encrypted SQS queue,
 * which has an alarm on its depth.
 */
import { Annotations, Duration, RemovalPolicy } from 'aws-cdk-lib'
import * as events from 'aws-cdk-lib/aws-events'
import * as targets from 'aws-cdk-lib/aws-events-targets'
import type * as lambda from 'aws-cdk-lib/aws-lambda'
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations'
import * as sqs from 'aws-cdk-lib/aws-sqs'
import { Construct } from 'constructs'
import { CUSTOM_DETAIL_TYPE, CUSTOM_SOURCE } from '../functions/events/parse.js'
import type { EcrFilters, RepositoryFilter } from './deploy-mapping.js'

/** The custom event a pipeline puts on the default bus to request a deploy (defined by the events function). */
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
}

/** Rules, targets, async config and the dead-letter queue of the events function. */
export class BrokerEventRules extends Construct {
  readonly deadLetterQueue: sqs.Queue
  readonly ecrRule?: events.Rule
  readonly ecrUntaggedRule?: events.Rule
  readonly deployRequestRule: events.Rule

  constructor(scope: Construct, id: string, props: BrokerEventRulesProps) {
    super(scope, id)

    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: RETRY.dlqRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    })

    const target = new targets.LambdaFunction(props.handler, {
      retryAttempts: RETRY.deliveryAttempts,
      maxEventAge: RETRY.deliveryMaxAge,
      deadLetterQueue: this.deadLetterQueue,
    })

    if (props.ecr.tagged.length > 0) {
      this.ecrRule = new events.Rule(this, 'EcrPushRule', {
        description: 'Successful, tagged ECR image pushes of repositories in config/deploy-mapping.json',
        eventPattern: ecrPushPattern(props.ecr.tagged, { tagged: true }),
        targets: [target],
      })
    }
    if (props.ecr.untagged.length > 0) {
      // Mappings whose imageFormat has no {tag} (digest pins) also act on untagged pushes.
      this.ecrUntaggedRule = new events.Rule(this, 'EcrDigestPushRule', {
        description: 'Successful ECR image pushes (tagged or not) of repositories mapped by digest',
        eventPattern: ecrPushPattern(props.ecr.untagged, { tagged: false }),
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
      description: 'Custom deploy-request events for githosted-ci-broker',
      eventPattern: { source: [DEPLOY_REQUEST_EVENT.source], detailType: [DEPLOY_REQUEST_EVENT.detailType] },
      targets: [target],
    })

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
