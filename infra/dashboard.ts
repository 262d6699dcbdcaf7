/**
 * One CloudWatch dashboard per stage: the alarms' state on top, then traffic
 * and errors of the API, the functions' invocations, errors and p99 duration,
 * the broker's own metrics (tokens, deploys, events, githosted failures), and
 * the dead-letter queue.
 */
import { Duration } from 'aws-cdk-lib'
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch'
import type * as apigw from 'aws-cdk-lib/aws-apigatewayv2'
import type * as lambda from 'aws-cdk-lib/aws-lambda'
import type * as sqs from 'aws-cdk-lib/aws-sqs'
import { Construct } from 'constructs'
import { METRICS_NAMESPACE } from './alarms.js'

export interface BrokerDashboardProps {
  dashboardName: string
  stage: string
  functions: Record<string, lambda.IFunction>
  api: apigw.HttpApi
  deadLetterQueue: sqs.IQueue
  alarms: cloudwatch.IAlarm[]
}

const PERIOD = Duration.minutes(5)

/** Broker metrics shown on the dashboard (written by functions/lib/observability). */
export const DASHBOARD_BROKER_METRICS = [
  'TokensIssued',
  'TokensDenied',
  'DeploysApplied',
  'DeploysConflicted',
  'DeploysFailed',
  'EventsApplied',
  'EventsFailed',
  'Repairs',
  'GithostedErrors',
] as const

export class BrokerDashboard extends Construct {
  readonly dashboard: cloudwatch.Dashboard

  constructor(scope: Construct, id: string, props: BrokerDashboardProps) {
    super(scope, id)
    const fns = Object.entries(props.functions)
    const broker = (metricName: string) =>
      new cloudwatch.Metric({ namespace: METRICS_NAMESPACE, metricName, dimensionsMap: { Stage: props.stage }, period: PERIOD, statistic: 'Sum' })

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: props.dashboardName,
      defaultInterval: Duration.hours(3),
    })
    this.dashboard.addWidgets(new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: props.alarms, width: 24 }))
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'HTTP API: requests, 4xx, 5xx',
        left: [props.api.metricCount({ period: PERIOD }), props.api.metricClientError({ period: PERIOD }), props.api.metricServerError({ period: PERIOD })],
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: 'HTTP API: latency p50 / p99 (ms)',
        left: [props.api.metricLatency({ period: PERIOD, statistic: 'p50' }), props.api.metricLatency({ period: PERIOD, statistic: 'p99' })],
        width: 12,
      }),
    )
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Functions: invocations and errors',
        left: fns.map(([n, f]) => f.metricInvocations({ period: PERIOD, label: `${n} invocations` })),
        right: fns.map(([n, f]) => f.metricErrors({ period: PERIOD, label: `${n} errors` })),
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: 'Functions: p99 duration (ms)',
        left: fns.map(([n, f]) => f.metricDuration({ period: PERIOD, statistic: 'p99', label: n })),
        width: 12,
      }),
    )
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Tokens and deploys',
        left: DASHBOARD_BROKER_METRICS.slice(0, 5).map(broker),
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: 'Events, repairs, githosted failures, DLQ',
        left: DASHBOARD_BROKER_METRICS.slice(5).map(broker),
        right: [props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: PERIOD, statistic: 'Maximum', label: 'DLQ depth' })],
        width: 12,
      }),
    )
  }
}
