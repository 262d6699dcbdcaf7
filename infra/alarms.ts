/**
 * CloudWatch alarms for what an operator must act on: function errors and
 * throttles, API 5xx, and events waiting in the dead-letter queue. All notify
 * one SNS topic; an email subscription is added when `alarmEmail` is set.
 */
import { Duration } from 'aws-cdk-lib'
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch'
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions'
import type * as apigw from 'aws-cdk-lib/aws-apigatewayv2'
import type * as lambda from 'aws-cdk-lib/aws-lambda'
import * as sns from 'aws-cdk-lib/aws-sns'
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions'
import type * as sqs from 'aws-cdk-lib/aws-sqs'
import { Construct } from 'constructs'

export interface BrokerAlarmsProps {
  functions: Record<string, lambda.IFunction>
  api: apigw.HttpApi
  deadLetterQueue: sqs.IQueue
  alarmEmail?: string
}

const PERIOD = Duration.minutes(5)

/** The alarm topic and the alarms that publish to it. */
export class BrokerAlarms extends Construct {
  readonly topic: sns.Topic
  readonly alarms: cloudwatch.Alarm[] = []

  constructor(scope: Construct, id: string, props: BrokerAlarmsProps) {
    super(scope, id)

    this.topic = new sns.Topic(this, 'Topic', {
      displayName: 'githosted-ci-broker alarms',
      enforceSSL: true,
    })
    if (props.alarmEmail) this.topic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail))

    for (const [name, fn] of Object.entries(props.functions)) {
      this.add(`${name}Errors`, `${name} function: invocation errors`, fn.metricErrors({ period: PERIOD }))
      this.add(`${name}Throttles`, `${name} function: throttled invocations`, fn.metricThrottles({ period: PERIOD }))
    }
    this.add('Api5xx', 'HTTP API: 5xx responses', props.api.metricServerError({ period: PERIOD }))
    this.add(
      'DeadLetterQueueDepth',
      'Events dead-letter queue: failed events waiting (see docs/deploy-aws.md, "Failed events")',
      props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: PERIOD, statistic: 'Maximum' }),
    )
  }

  // Every alarm fires on the first occurrence: the broker's traffic is low and each
  // error is a failed CI job or a lost deploy, not noise to average away.
  private add(id: string, description: string, metric: cloudwatch.IMetric): void {
    const alarm = new cloudwatch.Alarm(this, id, {
      alarmDescription: `githosted-ci-broker: ${description}`,
      metric,
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    })
    alarm.addAlarmAction(new actions.SnsAction(this.topic))
    this.alarms.push(alarm)
  }
}
