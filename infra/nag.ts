/**
 * cdk-nag findings (AwsSolutions and Serverless packs) this stack
 * acknowledges, each on the narrowest construct and with the reason it is
 * accepted. Everything else must pass: an unacknowledged finding fails synth
 * (cdk-nag v3 runs as a CDK policy validation plugin, see infra/main.ts).
 */
import { Validations } from 'aws-cdk-lib'
import type { BrokerAlarms } from './alarms.js'
import type { BrokerFunction, FunctionName } from './broker-function.js'
import type { BrokerEventRules } from './event-rules.js'
import type { BrokerHttpApi } from './http-api.js'
import type { BrokerSecrets } from './secrets.js'

/** The acknowledged rules and why, also summarized in docs/aws-design.md. */
export const ACKNOWLEDGED = {
  'AwsSolutions-SMG4':
    'The values are issued outside AWS: githosted workspace and repo tokens are created in githosted, ' +
    'broker key hashes by the operator. There is no rotation Lambda that could mint and revoke them; ' +
    'rotation is the documented put-secret-value procedure, picked up within SECRET_CACHE_TTL_SECONDS.',
  'AwsSolutions-L1':
    'Node.js 22 is pinned on purpose: it is the runtime the bundles are built (target node22) and ' +
    'tested for. Moving to a newer runtime is a deliberate, tested change, not an automatic one.',
  'AwsSolutions-APIG4':
    'Authentication happens in the functions, not in API Gateway: /ci/token accepts broker API keys ' +
    '(hashed, constant-time compared), /v1/* accepts OIDC ID tokens verified against each issuer\'s JWKS ' +
    'plus a deny-by-default policy, and the dashboard uses its own viewer credential. An API Gateway JWT ' +
    'authorizer cannot verify broker keys and would duplicate the issuer allowlist.',
  'AwsSolutions-SQS3':
    'This queue is the dead-letter queue: the EventBridge targets\' DLQ and the events function\'s ' +
    'async on-failure destination. cdk-nag only recognises queues named in another queue\'s redrive policy.',
  'AwsSolutions-IAM5[Resource::*]':
    'Active tracing: xray:PutTraceSegments and xray:PutTelemetryRecords support no resource-level ' +
    'permissions, so AWS requires Resource "*" for them (the statement CDK adds for Tracing.ACTIVE). ' +
    'No other statement of the function roles has a wildcard; the infra tests assert that.',
  'Serverless-LambdaDLQ':
    'token, deploy and status are invoked synchronously by API Gateway: the caller gets the error, and a ' +
    'function DLQ only applies to async invokes. The events function (async) uses an on-failure ' +
    'destination into the DLQ instead, whose records carry the error and the original event (docs/dlq.md).',
  'Serverless-LambdaLatestVersion':
    'Node.js 22 is pinned on purpose (same reason as AwsSolutions-L1): the bundles are built with target ' +
    'node22 and tested on it; a runtime upgrade is a deliberate, tested change.',
  'Serverless-SQSRedrivePolicy':
    'This queue is itself the dead-letter queue; a DLQ of the DLQ would only move the same records one ' +
    'hop further. Its depth and oldest-message age alarm, and npm run dlq replays or drops its messages.',
  'Serverless-SNSRedrivePolicy':
    'The only subscription is the optional on-call email. A redrive queue would hold undelivered alarm ' +
    'emails that nobody reads; the alarms stay visible in ALARM state on the dashboard and in the console.',
} as const

type Rule = keyof typeof ACKNOWLEDGED

/** The cdk-nag pack a rule id belongs to. */
function packOf(rule: Rule): string {
  return rule.startsWith('Serverless-') ? 'Serverless' : 'AwsSolutions'
}

export interface NagTargets {
  secrets: BrokerSecrets
  api: BrokerHttpApi
  events: BrokerEventRules
  functions: Record<FunctionName, BrokerFunction>
  alarms: BrokerAlarms
}

/** Records the acknowledgments on the constructs they concern. */
export function acknowledgeFindings(targets: NagTargets): void {
  const ack = (scope: Parameters<typeof Validations.of>[0], id: Rule) =>
    Validations.of(scope).acknowledge({ id: `${packOf(id)}::${id}`, reason: ACKNOWLEDGED[id] })

  for (const { secret, created } of Object.values(targets.secrets.secrets)) {
    if (created) ack(secret, 'AwsSolutions-SMG4')
  }
  for (const fn of Object.values(targets.functions)) {
    ack(fn.fn, 'AwsSolutions-L1')
    ack(fn.fn, 'Serverless-LambdaLatestVersion')
    ack(fn.fn, 'Serverless-LambdaDLQ')
    ack(fn.role, 'AwsSolutions-IAM5[Resource::*]')
  }
  ack(targets.alarms.topic, 'Serverless-SNSRedrivePolicy')
  ack(targets.api.api, 'AwsSolutions-APIG4')
  ack(targets.events.deadLetterQueue, 'AwsSolutions-SQS3')
  ack(targets.events.deadLetterQueue, 'Serverless-SQSRedrivePolicy')
}
