/**
 * Stack outputs an operator needs after `cdk deploy`: where the API is, which
 * secrets to fill and the exact commands to fill them. The commands read the
 * value from stdin (`file:///dev/stdin`), so it never appears on a command
 * line, in `ps`, in shell history or in the outputs.
 */
import { Aws, CfnOutput, type Stack } from 'aws-cdk-lib'
import type { SecretKey } from './config.js'
import type { BrokerSecret } from './secrets.js'

/** The fill commands take the value on stdin (pipe a file in, or paste and press Ctrl-D). */
export const SECRET_FROM_STDIN = 'file:///dev/stdin'

const OUTPUT_NAMES: Record<SecretKey, string> = {
  workspaceToken: 'WorkspaceToken',
  dashboardToken: 'DashboardToken',
  brokerKeys: 'BrokerKeys',
  viewerCredential: 'ViewerCredential',
}

export interface BrokerOutputsProps {
  stage: string
  apiUrl: string
  secrets: Record<SecretKey, BrokerSecret>
  deadLetterQueueUrl: string
  eventsFunctionName: string
  deployRequestBusName: string
  alarmTopicArn: string
  stateTableName?: string
  customDomainTarget?: string
}

/** Adds the broker's outputs to the stack. */
export function addOutputs(stack: Stack, props: BrokerOutputsProps): void {
  new CfnOutput(stack, 'Stage', { value: props.stage, description: 'Stage of this stack' })
  new CfnOutput(stack, 'ApiUrl', { value: props.apiUrl, description: 'Base URL of the broker API' })
  new CfnOutput(stack, 'DeadLetterQueueUrl', {
    value: props.deadLetterQueueUrl,
    description: 'Events that failed delivery or processing (npm run dlq -- list; docs/dlq.md)',
  })
  new CfnOutput(stack, 'EventsFunctionName', { value: props.eventsFunctionName, description: 'The events function (npm run dlq -- replay invokes it)' })
  new CfnOutput(stack, 'DeployRequestBusName', {
    value: props.deployRequestBusName,
    description: 'Event bus for Deploy Requested events (PutEvents --event-bus-name)',
  })
  new CfnOutput(stack, 'AlarmTopicArn', { value: props.alarmTopicArn, description: 'SNS topic of the alarms' })
  if (props.stateTableName) {
    new CfnOutput(stack, 'StateTableName', { value: props.stateTableName, description: 'Shared-state DynamoDB table' })
  }
  if (props.customDomainTarget) {
    new CfnOutput(stack, 'CustomDomainTarget', {
      value: props.customDomainTarget,
      description: 'Point a CNAME (or alias) record for the custom domain here',
    })
  }
  for (const [key, { secret, created }] of Object.entries(props.secrets) as [SecretKey, BrokerSecret][]) {
    const name = OUTPUT_NAMES[key]
    new CfnOutput(stack, `${name}SecretArn`, { value: secret.secretArn, description: `ARN of the ${key} secret` })
    if (!created) continue
    new CfnOutput(stack, `Fill${name}Command`, {
      value: putSecretValueCommand(secret.secretArn),
      description: `Store the ${key} value: pipe it in (cmd < file), or run, paste, then Ctrl-D`,
    })
  }
}

/** The CLI command that stores a secret's value read from stdin. */
export function putSecretValueCommand(secretArn: string): string {
  return `aws secretsmanager put-secret-value --region ${Aws.REGION} --secret-id ${secretArn} --secret-string ${SECRET_FROM_STDIN}`
}
