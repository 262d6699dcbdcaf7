/**
 * CloudWatch alarms for what an operator must act on, all into one encrypted
 * SNS topic (an email subscription when `alarmEmail` is set):
 *  - per function: invocation errors, throttles, and p99 duration above 80%
 *    of the timeout (the next slow day times out);
 *  - the HTTP API: a 5xx *rate* (metric math, not a single 5xx) and a 4xx
 *    spike (throttling by the stage's limit shows up as 429s here);
 *  - lost events: async destination delivery failures, EventBridge failing
 *    to write to the DLQ, and DLQ messages waiting (depth and age);
 *  - githosted: the share of broker operations that failed because githosted
 *    did (the broker's own EMF metrics, functions/lib/observability).
 */
import { Duration } from 'aws-cdk-lib'
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch'
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions'
import type * as apigw from 'aws-cdk-lib/aws-apigatewayv2'
import type * as events from 'aws-cdk-lib/aws-events'
import * as iam from 'aws-cdk-lib/aws-iam'
import * as kms from 'aws-cdk-lib/aws-kms'
import type * as lambda from 'aws-cdk-lib/aws-lambda'
import * as sns from 'aws-cdk-lib/aws-sns'
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions'
import type * as sqs from 'aws-cdk-lib/aws-sqs'
import { Construct } from 'constructs'
import { METRICS_NAMESPACE } from '../functions/lib/observability/metrics.js'

export { METRICS_NAMESPACE }

/** Thresholds, exported so tests and docs state the same numbers. */
export const THRESHOLDS = {
  /** 5xx responses as a percentage of requests, over 5 minutes, with at least `minRequests`. */
  api5xxPercent: 5,
  /** 4xx (including 429) responses in 5 minutes. */
  api4xxCount: 100,
  /** Below this many requests in 5 minutes, rates are not judged. */
  minRequests: 10,
  /** p99 duration as a share of the function timeout. */
  durationShareOfTimeout: 0.8,
  /** Oldest DLQ message, seconds: an hour of waiting means nobody looked. */
  dlqOldestSeconds: 3600,
  /** githosted-caused failures as a percentage of broker operations. */
  githostedErrorPercent: 10,
} as const

export interface BrokerAlarmsProps {
  namePrefix: string
  /** The `Stage` dimension of the broker's own metrics. */
  stage: string
  functions: Record<string, lambda.Function>
  api: apigw.HttpApi
  deadLetterQueue: sqs.IQueue
  /** The event rules whose targets dead-letter into the queue; `busName` for rules on a custom bus. */
  rules: Array<{ rule: events.Rule; busName?: string }>
  alarmEmail?: string
}

const PERIOD = Duration.minutes(5)

/** The alarm topic and the alarms that publish to it. */
export class BrokerAlarms extends Construct {
  readonly topic: sns.Topic
  readonly topicKey: kms.Key
  readonly alarms: cloudwatch.Alarm[] = []
  private readonly prefix: string

  constructor(scope: Construct, id: string, props: BrokerAlarmsProps) {
    super(scope, id)
    this.prefix = props.namePrefix

    // CloudWatch cannot publish to a topic under the AWS managed SNS key, so the
    // topic gets its own customer managed key that CloudWatch may use.
    this.topicKey = new kms.Key(this, 'TopicKey', {
      description: `${props.namePrefix} alarm topic encryption`,
      enableKeyRotation: true,
    })
    this.topicKey.addToResourcePolicy(
      new iam.PolicyStatement({
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: ['*'],
      }),
    )
    this.topic = new sns.Topic(this, 'Topic', {
      topicName: `${props.namePrefix}-alarms`,
      displayName: `${props.namePrefix} alarms`,
      enforceSSL: true,
      masterKey: this.topicKey,
    })
    if (props.alarmEmail) this.topic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail))

    for (const [name, fn] of Object.entries(props.functions)) {
      this.add(`${name}Errors`, `${name} function: invocation errors`, fn.metricErrors({ period: PERIOD }), 1)
      this.add(`${name}Throttles`, `${name} function: throttled invocations`, fn.metricThrottles({ period: PERIOD }), 1)
      const timeoutMs = (fn.timeout ?? Duration.seconds(3)).toMilliseconds()
      this.add(
        `${name}DurationP99`,
        `${name} function: p99 duration above ${THRESHOLDS.durationShareOfTimeout * 100}% of its ${timeoutMs / 1000} s timeout`,
        fn.metricDuration({ period: PERIOD, statistic: 'p99' }),
        Math.round(timeoutMs * THRESHOLDS.durationShareOfTimeout),
        { evaluationPeriods: 3, datapointsToAlarm: 2, comparison: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD },
      )
    }
    // Async invocations whose on-failure destination (the DLQ) could not be written: lost.
    const events = props.functions.events
    if (events) {
      this.add(
        'EventsDestinationDeliveryFailures',
        'events function: failed events could not be written to the DLQ (lost)',
        events.metric('DestinationDeliveryFailures', { period: PERIOD, statistic: 'Sum' }),
        1,
      )
    }
    for (const { rule, busName } of props.rules) {
      this.add(
        `${rule.node.id}DlqFailures`,
        `${rule.node.id}: EventBridge could not write an undeliverable event to the DLQ (lost)`,
        new cloudwatch.Metric({
          namespace: 'AWS/Events',
          metricName: 'InvocationsFailedToBeSentToDlq',
          // Rules on a custom bus report with EventBusName and RuleName; default-bus rules with RuleName only.
          dimensionsMap: busName ? { EventBusName: busName, RuleName: rule.ruleName } : { RuleName: rule.ruleName },
          period: PERIOD,
          statistic: 'Sum',
        }),
        1,
      )
    }

    const requests = props.api.metricCount({ period: PERIOD })
    this.add(
      'Api5xxRate',
      `HTTP API: more than ${THRESHOLDS.api5xxPercent}% of requests answered 5xx (at least ${THRESHOLDS.minRequests} requests)`,
      new cloudwatch.MathExpression({
        label: '5xx %',
        expression: `IF(requests >= ${THRESHOLDS.minRequests}, 100 * errors / requests, 0)`,
        usingMetrics: { errors: props.api.metricServerError({ period: PERIOD }), requests },
        period: PERIOD,
      }),
      THRESHOLDS.api5xxPercent,
      { evaluationPeriods: 2, datapointsToAlarm: 2, comparison: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD },
    )
    this.add(
      'Api4xxSpike',
      `HTTP API: more than ${THRESHOLDS.api4xxCount} 4xx/429 responses in 5 minutes (abuse, a broken client, or the throttle)`,
      props.api.metricClientError({ period: PERIOD }),
      THRESHOLDS.api4xxCount,
      { comparison: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD },
    )

    this.add(
      'DeadLetterQueueDepth',
      'Events dead-letter queue: failed events waiting (docs/dlq.md)',
      props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: PERIOD, statistic: 'Maximum' }),
      1,
    )
    this.add(
      'DeadLetterQueueAge',
      `Events dead-letter queue: a failed event has waited over ${THRESHOLDS.dlqOldestSeconds / 60} minutes (docs/dlq.md)`,
      props.deadLetterQueue.metricApproximateAgeOfOldestMessage({ period: PERIOD, statistic: 'Maximum' }),
      THRESHOLDS.dlqOldestSeconds,
    )

    const broker = (metricName: string) =>
      new cloudwatch.Metric({ namespace: METRICS_NAMESPACE, metricName, dimensionsMap: { Stage: props.stage }, period: PERIOD, statistic: 'Sum' })
    this.add(
      'GithostedErrorRate',
      `githosted: more than ${THRESHOLDS.githostedErrorPercent}% of broker operations failed because githosted did`,
      new cloudwatch.MathExpression({
        label: 'githosted error %',
        expression: `IF(ops >= ${THRESHOLDS.minRequests}, 100 * failed / ops, 0)`,
        usingMetrics: { failed: broker('GithostedErrors'), ops: broker('Operations') },
        period: PERIOD,
      }),
      THRESHOLDS.githostedErrorPercent,
      { evaluationPeriods: 2, datapointsToAlarm: 2, comparison: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD },
    )
  }

  private add(
    id: string,
    description: string,
    metric: cloudwatch.IMetric,
    threshold: number,
    opts: { evaluationPeriods?: number; datapointsToAlarm?: number; comparison?: cloudwatch.ComparisonOperator } = {},
  ): void {
    const alarm = new cloudwatch.Alarm(this, id, {
      alarmName: `${this.prefix}-${id}`,
      alarmDescription: `githosted-ci-broker: ${description}`,
      metric,
      threshold,
      evaluationPeriods: opts.evaluationPeriods ?? 1,
      ...(opts.datapointsToAlarm ? { datapointsToAlarm: opts.datapointsToAlarm } : {}),
      comparisonOperator: opts.comparison ?? cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      // No traffic is not a failure; the broker's traffic is low and bursty.
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    })
    alarm.addAlarmAction(new actions.SnsAction(this.topic))
    this.alarms.push(alarm)
  }
}
