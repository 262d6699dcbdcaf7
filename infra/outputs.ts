/**
 * Stack outputs an operator needs after `cdk deploy`: where the API is, which
 * secrets to fill and the exact commands to fill them (values come from shell
 * variables or files, so they never appear in the outputs or in shell history).
 */
import { Aws, CfnOutput, type Stack } from 'aws-cdk-lib'
import type { SecretKey } from './config.js'
import type { BrokerSecret } from './secrets.js'

/** Where each created secret's value comes from in the fill command. */
export const SECRET_VALUE_SOURCES: Record<SecretKey, string> = {
  workspaceToken: '"$GITHOSTED_WORKSPACE_TOKEN"',
  dashboardToken: '"$GITHOSTED_DASHBOARD_TOKEN"',
  brokerKeys: 'file://broker-keys.json',
  viewerCredential: 'file://viewer-credential.json',
}

const OUTPUT_NAMES: Record<SecretKey, string> = {
  workspaceToken: 'WorkspaceToken',
  dashboardToken: 'DashboardToken',
  brokerKeys: 'BrokerKeys',
  viewerCredential: 'ViewerCredential',
}

export interface BrokerOutputsProps {
  apiUrl: string
  secrets: Record<SecretKey, BrokerSecret>
  deadLetterQueueUrl: string
  alarmTopicArn: string
  replayTableName?: string
  customDomainTarget?: string
}

/** Adds the broker's outputs to the stack. */
export function addOutputs(stack: Stack, props: BrokerOutputsProps): void {
  new CfnOutput(stack, 'ApiUrl', { value: props.apiUrl, description: 'Base URL of the broker API' })
  new CfnOutput(stack, 'DeadLetterQueueUrl', {
    value: props.deadLetterQueueUrl,
    description: 'Events that failed delivery or processing (inspect, then redrive or delete)',
  })
  new CfnOutput(stack, 'AlarmTopicArn', { value: props.alarmTopicArn, description: 'SNS topic of the alarms' })
  if (props.replayTableName) {
    new CfnOutput(stack, 'ReplayTableName', { value: props.replayTableName, description: 'Replay/idempotency table' })
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
      value: putSecretValueCommand(secret.secretArn, SECRET_VALUE_SOURCES[key]),
      description: `Run once after the first deploy to store the ${key} value`,
    })
  }
}

/** The CLI command that stores a secret's value; `source` is a shell variable or file:// path. */
export function putSecretValueCommand(secretArn: string, source: string): string {
  return `aws secretsmanager put-secret-value --region ${Aws.REGION} --secret-id ${secretArn} --secret-string ${source}`
}
