/**
 * Assertions on the synthesized template (bundling skipped: these tests are
 * about the resources, test/infra/bundle.test.ts is about the code).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Match, Template } from 'aws-cdk-lib/assertions'
import { createApp, PROJECT_ROOT } from '../../infra/main.js'
import { contextEcrFilters, readEcrFilters } from '../../infra/deploy-mapping.js'
import { ROUTES } from '../../infra/http-api.js'
import { STATE_KEY_PREFIXES, STATE_TABLE_ACTIONS } from '../../infra/state-table.js'
import { cdkJsonContext, synth, type Synthesized } from './synth.js'

type Resources = Record<string, { Type: string; Properties?: Record<string, any> }>

const FALLBACK_REPOS = ['team/api', 'web-frontend']

/** What CDK's `paramsAndSecrets` sets for the Parameters and Secrets extension. */
const ENV_EXTENSION = [
  'PARAMETERS_SECRETS_EXTENSION_CACHE_ENABLED',
  'PARAMETERS_SECRETS_EXTENSION_CACHE_SIZE',
  'PARAMETERS_SECRETS_EXTENSION_HTTP_PORT',
  'PARAMETERS_SECRETS_EXTENSION_LOG_LEVEL',
  'PARAMETERS_SECRETS_EXTENSION_MAX_CONNECTIONS',
  'SECRETS_MANAGER_TIMEOUT_MILLIS',
  'SECRETS_MANAGER_TTL',
  'SSM_PARAMETER_STORE_TIMEOUT_MILLIS',
  'SSM_PARAMETER_STORE_TTL',
]
const ENV_COMMON = [
  'GITHOSTED_URL',
  'LOG_LEVEL',
  'SECRET_CACHE_TTL_SECONDS',
  'SECRETS_SOURCE',
  'BROKER_STAGE',
  'STATE_TABLE_NAME',
  ...ENV_EXTENSION,
]
const EXPECTED_ENV: Record<string, string[]> = {
  Token: [...ENV_COMMON, 'WORKSPACE_TOKEN_SECRET_ARN', 'BROKER_KEYS_SECRET_ARN', 'OIDC_AUDIENCE'],
  Deploy: [...ENV_COMMON, 'WORKSPACE_TOKEN_SECRET_ARN', 'BROKER_KEYS_SECRET_ARN', 'OIDC_AUDIENCE'],
  Events: [...ENV_COMMON, 'WORKSPACE_TOKEN_SECRET_ARN'],
  Status: [
    ...ENV_COMMON,
    'DASHBOARD_TOKEN_SECRET_ARN',
    'BROKER_KEYS_SECRET_ARN',
    'OIDC_AUDIENCE',
    'VIEWER_CREDENTIAL_SECRET_ARN',
    'STATUS_REPO',
  ],
}
const EXPECTED_SECRETS: Record<string, string[]> = {
  Token: ['BrokerKeys', 'WorkspaceToken'],
  Deploy: ['BrokerKeys', 'WorkspaceToken'],
  Events: ['WorkspaceToken'],
  Status: ['BrokerKeys', 'DashboardToken', 'ViewerCredential'],
}

/** What the ECR rules should filter on: the mapping file if there is one, else the context list. */
function expectedEcrFilters() {
  return readEcrFilters(join(PROJECT_ROOT, 'config', 'deploy-mapping.json')) ?? contextEcrFilters(FALLBACK_REPOS)
}

function resourcesOf(template: Template, type: string): Resources {
  return template.findResources(type) as Resources
}

/** Logical id of the one resource of `type` whose id starts with `prefix`. */
function logicalId(template: Template, type: string, prefix: string): string {
  const ids = Object.keys(resourcesOf(template, type)).filter((id) => id.startsWith(prefix))
  expect(ids, `${type} ${prefix}*`).toHaveLength(1)
  return ids[0]!
}

function functionId(template: Template, name: string): string {
  return logicalId(template, 'AWS::Lambda::Function', `${name}Function`)
}

/** Every IAM statement of the role a function runs as. */
function roleStatements(template: Template, name: string): any[] {
  const fn = resourcesOf(template, 'AWS::Lambda::Function')[functionId(template, name)]!
  const roleId = fn.Properties!.Role['Fn::GetAtt'][0]
  return Object.values(resourcesOf(template, 'AWS::IAM::Policy'))
    .filter((p) => p.Properties!.Roles.some((r: any) => r.Ref === roleId))
    .flatMap((p) => p.Properties!.PolicyDocument.Statement)
}

function actionsOf(statement: any): string[] {
  return [statement.Action].flat()
}

/** Every policy statement anywhere in the template (IAM, queue, topic, key policies). */
function allStatements(node: unknown, out: any[] = []): any[] {
  if (Array.isArray(node)) node.forEach((n) => allStatements(n, out))
  else if (node && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      if (k === 'Statement' && Array.isArray(v)) out.push(...v)
      else allStatements(v, out)
    }
  }
  return out
}

describe('BrokerStack (default context)', () => {
  let s: Synthesized
  let t: Template
  beforeAll(() => {
    s = synth({ ecrRepositories: FALLBACK_REPOS.join(','), region: 'eu-west-1' })
    t = s.template
  })
  afterAll(() => s?.cleanup())

  it('has four Node 22 arm64 functions with ESM bundles, active tracing and their own log groups', () => {
    t.resourceCountIs('AWS::Lambda::Function', 4)
    for (const name of ['Token', 'Deploy', 'Status', 'Events']) {
      const fn = resourcesOf(t, 'AWS::Lambda::Function')[functionId(t, name)]!.Properties!
      expect(fn.Runtime).toBe('nodejs22.x')
      expect(fn.Architectures).toEqual(['arm64'])
      expect(fn.Handler).toBe('index.handler')
      expect(fn.LoggingConfig.LogGroup).toEqual({ Ref: logicalId(t, 'AWS::Logs::LogGroup', `${name}Logs`) })
      expect(fn.TracingConfig).toEqual({ Mode: 'Active' })
      expect(fn.FunctionName).toBe(`githosted-ci-broker-dev-${name.toLowerCase()}`)
    }
    // Retention through real log groups, not the deprecated logRetention custom resource.
    expect(Object.keys(resourcesOf(t, 'Custom::LogRetention'))).toHaveLength(0)
    const groups = Object.values(resourcesOf(t, 'AWS::Logs::LogGroup'))
    expect(groups).toHaveLength(5)
    // Audit lines live in the function logs: a year by default.
    for (const g of groups) expect(g.Properties!.RetentionInDays).toBe(365)
    // Under API Gateway's 30 s, so a slow deploy is answered by the function.
    const deploy = resourcesOf(t, 'AWS::Lambda::Function')[functionId(t, 'Deploy')]!.Properties!
    expect(deploy.Timeout).toBeLessThan(30)
  })

  it('sets exactly the environment variables of the env contract', () => {
    for (const [name, keys] of Object.entries(EXPECTED_ENV)) {
      const env = resourcesOf(t, 'AWS::Lambda::Function')[functionId(t, name)]!.Properties!.Environment.Variables
      expect(Object.keys(env).sort(), name).toEqual([...keys].sort())
      expect(env.GITHOSTED_URL).toBe('https://api.githosted.dev')
      expect(env.LOG_LEVEL).toBe('info')
      expect(env.SECRET_CACHE_TTL_SECONDS).toBe('300')
      expect(env.BROKER_STAGE).toBe('dev')
      expect(env.STATE_TABLE_NAME).toEqual({ Ref: logicalId(t, 'AWS::DynamoDB::GlobalTable', 'StateTable') })
      if (env.OIDC_AUDIENCE) expect(env.OIDC_AUDIENCE).toBe('githosted-ci-broker')
      for (const [variable, value] of Object.entries(env)) {
        if (!variable.endsWith('_SECRET_ARN')) continue
        const secret = variable.replace('_SECRET_ARN', '').toLowerCase().replace(/_(\w)/g, (_, c) => c.toUpperCase())
        expect(value, variable).toEqual({ Ref: logicalId(t, 'AWS::SecretsManager::Secret', `Secrets${secret[0]!.toUpperCase()}${secret.slice(1)}`) })
      }
    }
    const status = resourcesOf(t, 'AWS::Lambda::Function')[functionId(t, 'Status')]!.Properties!.Environment.Variables
    expect(status.STATUS_REPO).toBe('deploy-configs')
  })

  it('reads secrets through the region\'s Parameters and Secrets extension layer, its own cache off', () => {
    // The layer is resolved at synth for the stack's region: no region mapping that
    // CloudFormation could fail to find at deploy time.
    expect((t.toJSON() as { Mappings?: unknown }).Mappings).toBeUndefined()
    for (const name of ['Token', 'Deploy', 'Status', 'Events']) {
      const fn = resourcesOf(t, 'AWS::Lambda::Function')[functionId(t, name)]!.Properties!
      expect(fn.Layers, name).toEqual([expect.stringMatching(/^arn:aws:lambda:eu-west-1:\d{12}:layer:AWS-Parameters-and-Secrets-Lambda-Extension-Arm64:\d+$/)])
      const env = fn.Environment.Variables
      expect(env.SECRETS_SOURCE, name).toBe('extension')
      // The broker's own cache (SECRET_CACHE_TTL_SECONDS) is the only one, so a rotation refetch is real.
      expect(env.PARAMETERS_SECRETS_EXTENSION_CACHE_ENABLED).toBe('false')
      expect(env.PARAMETERS_SECRETS_EXTENSION_HTTP_PORT).toBe('2773')
      expect(Number(env.SECRETS_MANAGER_TIMEOUT_MILLIS)).toBeLessThan(5000)
    }
    // The extension calls GetSecretValue as the function's role: no extra grant, no other principal.
    for (const name of ['Token', 'Deploy', 'Status', 'Events']) {
      const actions = roleStatements(t, name).flatMap(actionsOf)
      expect(actions.filter((a) => a.startsWith('secretsmanager:')).sort(), name).toEqual([
        'secretsmanager:DescribeSecret',
        'secretsmanager:GetSecretValue',
      ])
      expect(actions.some((a) => a.startsWith('ssm:') || a.startsWith('lambda:')), name).toBe(false)
    }
  })

  it('lets each function read exactly its own secrets, and the status function no workspace token', () => {
    const secretIds = Object.keys(resourcesOf(t, 'AWS::SecretsManager::Secret'))
    for (const [name, expected] of Object.entries(EXPECTED_SECRETS)) {
      const statements = roleStatements(t, name).filter((st) => actionsOf(st).some((a) => a.startsWith('secretsmanager:')))
      expect(statements, name).toHaveLength(1)
      expect(actionsOf(statements[0]).sort()).toEqual(['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue'])
      const readable = [statements[0].Resource]
        .flat()
        .map((r: any) => secretIds.find((id) => id === r.Ref)!.replace(/^Secrets/, '').replace(/[0-9A-F]{8}$/, ''))
        .sort()
      expect(readable, name).toEqual(expected)
    }
    const statusSecrets = JSON.stringify(roleStatements(t, 'Status'))
    expect(statusSecrets).not.toContain(logicalId(t, 'AWS::SecretsManager::Secret', 'SecretsWorkspaceToken'))
  })

  it('creates the secrets empty (no generated value) for the operator to fill', () => {
    const secrets = Object.values(resourcesOf(t, 'AWS::SecretsManager::Secret'))
    expect(secrets).toHaveLength(4)
    for (const secret of secrets) {
      expect(secret.Properties!.GenerateSecretString).toBeUndefined()
      expect(secret.Properties!.SecretString).toBeUndefined()
    }
  })

  it('allows no wildcard action anywhere, and logs go only to the function\'s own group', () => {
    // KMS key policies delegate to IAM with the account root's kms:* (the standard
    // default policy); every other Allow names its actions.
    const isKeyAdmin = (st: any) => st.Action === 'kms:*' && JSON.stringify(st.Principal).includes(':root')
    const statements = allStatements(t.toJSON()).filter((st) => !isKeyAdmin(st))
    const allows = statements.filter((st) => st.Effect === 'Allow')
    expect(allows.length).toBeGreaterThan(8)
    for (const st of allows) {
      for (const action of actionsOf(st)) expect(action, JSON.stringify(st)).not.toContain('*')
    }
    // The only wildcard is in the TLS-only guard, a Deny for every action on the queue.
    const denies = statements.filter((st) => st.Effect === 'Deny')
    for (const st of denies) expect(st.Condition.Bool['aws:SecureTransport']).toBe('false')
    for (const name of ['Token', 'Deploy', 'Status', 'Events']) {
      const logs = roleStatements(t, name).filter((st) => actionsOf(st).some((a) => a.startsWith('logs:')))
      expect(logs).toHaveLength(1)
      expect(logs[0].Resource).toEqual({ 'Fn::GetAtt': [logicalId(t, 'AWS::Logs::LogGroup', `${name}Logs`), 'Arn'] })
    }
    // No AWS managed policies (AWSLambdaBasicExecutionRole would allow every log group).
    for (const role of Object.values(resourcesOf(t, 'AWS::IAM::Role'))) {
      expect(role.Properties!.ManagedPolicyArns).toBeUndefined()
    }
  })

  it('routes the API paths to the right functions', () => {
    const routes = Object.values(resourcesOf(t, 'AWS::ApiGatewayV2::Route')).map((r) => r.Properties!)
    expect(routes.map((r) => r.RouteKey).sort()).toEqual(
      [
        'GET /healthz',
        'POST /ci/token',
        'ANY /v1/tokens',
        'ANY /v1/tokens/{proxy+}',
        'ANY /v1/deploys',
        'ANY /v1/deploys/{proxy+}',
        'ANY /v1/promotions',
        'ANY /v1/status',
        'ANY /v1/status/{proxy+}',
        'GET /',
        'GET /openapi.json',
        'ANY /{proxy+}',
      ].sort(),
    )
    const integrations = resourcesOf(t, 'AWS::ApiGatewayV2::Integration')
    for (const route of routes) {
      const integrationId = route.Target['Fn::Join'][1][1].Ref
      const uri = integrations[integrationId]!.Properties!.IntegrationUri
      const expected = ROUTES.find((r) => `${r.methods[0]} ${r.path}` === route.RouteKey)!.target
      expect(uri['Fn::GetAtt'][0], route.RouteKey).toBe(functionId(t, expected[0]!.toUpperCase() + expected.slice(1)))
      expect(integrations[integrationId]!.Properties!.PayloadFormatVersion).toBe('2.0')
    }
  })

  it('throttles the $default stage and writes JSON access logs', () => {
    t.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: Match.objectLike({ ThrottlingRateLimit: 20, ThrottlingBurstLimit: 40 }),
      AccessLogSettings: {
        DestinationArn: { 'Fn::GetAtt': [logicalId(t, 'AWS::Logs::LogGroup', 'HttpAccessLogs'), 'Arn'] },
        Format: Match.anyValue(),
      },
    })
    const stage = Object.values(resourcesOf(t, 'AWS::ApiGatewayV2::Stage'))[0]!.Properties!
    const format = JSON.parse(stage.AccessLogSettings.Format)
    expect(format).toMatchObject({ requestId: '$context.requestId', status: '$context.status', routeKey: '$context.routeKey' })
    expect(stage.AccessLogSettings.Format).not.toMatch(/header|authorization/i)
  })

  it('sends tagged, successful ECR pushes of the mapped repositories to the events function', () => {
    const ecr = expectedEcrFilters()
    expect(ecr.tagged.length).toBeGreaterThan(0)
    t.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.ecr'],
        'detail-type': ['ECR Image Action'],
        detail: {
          'action-type': ['PUSH'],
          result: ['SUCCESS'],
          'repository-name': ecr.tagged,
          'image-tag': [{ exists: true }],
        },
      },
      State: 'ENABLED',
    })
    // The custom event's source and detail-type are the ones the events function parses.
    t.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { source: ['githosted-ci-broker'], 'detail-type': ['Deploy Requested'] },
    })
  })

  it('retries delivery and function errors, and dead-letters into an encrypted queue', () => {
    const queueId = logicalId(t, 'AWS::SQS::Queue', 'EventRulesDeadLetterQueue')
    const queue = resourcesOf(t, 'AWS::SQS::Queue')[queueId]!.Properties!
    expect(queue.SqsManagedSseEnabled).toBe(true)
    expect(queue.MessageRetentionPeriod).toBe(14 * 24 * 3600)

    const rules = Object.values(resourcesOf(t, 'AWS::Events::Rule'))
    const ecr = expectedEcrFilters()
    expect(rules).toHaveLength(1 + (ecr.tagged.length > 0 ? 1 : 0) + (ecr.untagged.length > 0 ? 1 : 0))
    for (const rule of rules) {
      expect(rule.Properties!.Targets).toEqual([
        expect.objectContaining({
          Arn: { 'Fn::GetAtt': [functionId(t, 'Events'), 'Arn'] },
          RetryPolicy: { MaximumRetryAttempts: 8, MaximumEventAgeInSeconds: 7200 },
          DeadLetterConfig: { Arn: { 'Fn::GetAtt': [queueId, 'Arn'] } },
        }),
      ])
    }
    t.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: functionId(t, 'Events') },
      MaximumRetryAttempts: 2,
      MaximumEventAgeInSeconds: 3600,
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [queueId, 'Arn'] } } },
    })
    // EventBridge may write to the queue only on behalf of these two rules; TLS only.
    const policy = Object.values(resourcesOf(t, 'AWS::SQS::QueuePolicy'))[0]!.Properties!.PolicyDocument.Statement
    expect(policy.some((st: any) => st.Effect === 'Deny' && st.Condition?.Bool?.['aws:SecureTransport'] === 'false')).toBe(true)
    const fromEvents = policy.filter((st: any) => st.Principal?.Service === 'events.amazonaws.com')
    expect(fromEvents).toHaveLength(rules.length)
    for (const st of fromEvents) expect(st.Condition.ArnEquals['aws:SourceArn']).toBeDefined()
  })

  it('alarms on errors, throttles, p99 vs timeout, 5xx rate, 4xx spike, lost events and githosted errors, into one encrypted topic', () => {
    const alarms = Object.values(resourcesOf(t, 'AWS::CloudWatch::Alarm')).map((a) => a.Properties!)
    const topicId = logicalId(t, 'AWS::SNS::Topic', 'AlarmsTopic')
    const single = alarms.filter((a) => a.MetricName).map((a) => `${a.Namespace}:${a.MetricName}`)
    expect(single.sort()).toEqual(
      [
        ...Array(4).fill('AWS/Lambda:Errors'),
        ...Array(4).fill('AWS/Lambda:Throttles'),
        ...Array(4).fill('AWS/Lambda:Duration'),
        'AWS/Lambda:DestinationDeliveryFailures',
        ...Array(Object.keys(resourcesOf(t, 'AWS::Events::Rule')).length).fill('AWS/Events:InvocationsFailedToBeSentToDlq'),
        'AWS/ApiGateway:4xx',
        'AWS/SQS:ApproximateNumberOfMessagesVisible',
        'AWS/SQS:ApproximateAgeOfOldestMessage',
      ].sort(),
    )
    for (const alarm of alarms) {
      expect(alarm.AlarmActions).toEqual([{ Ref: topicId }])
      expect(alarm.TreatMissingData).toBe('notBreaching')
      expect(alarm.AlarmName).toMatch(/^githosted-ci-broker-dev-/)
    }
    // p99 duration against 80% of each function's own timeout.
    for (const name of ['Token', 'Deploy', 'Status', 'Events']) {
      const fn = resourcesOf(t, 'AWS::Lambda::Function')[functionId(t, name)]!.Properties!
      const duration = alarms.find((a) => a.MetricName === 'Duration' && a.Dimensions[0].Value.Ref === functionId(t, name))!
      expect(duration.ExtendedStatistic).toBe('p99')
      expect(duration.Threshold).toBe(fn.Timeout * 1000 * 0.8)
    }
    // Lost events: the events function's destination failures and each rule's DLQ failures.
    const lost = alarms.find((a) => a.MetricName === 'DestinationDeliveryFailures')!
    expect(lost.Dimensions[0].Value).toEqual({ Ref: functionId(t, 'Events') })
    const dlqFailures = alarms.filter((x) => x.MetricName === 'InvocationsFailedToBeSentToDlq')
    for (const a of dlqFailures) expect(a.Threshold).toBe(1)
    // The custom bus's rule reports with EventBusName + RuleName, default-bus rules with RuleName only.
    const busId = logicalId(t, 'AWS::Events::EventBus', 'EventRulesDeployRequestBus')
    const requestRuleId = logicalId(t, 'AWS::Events::Rule', 'EventRulesDeployRequestRule')
    expect(dlqFailures.map((a) => a.Dimensions.map((d: any) => d.Name).sort())).toContainEqual(['EventBusName', 'RuleName'])
    const onBus = dlqFailures.find((a) => a.Dimensions.length === 2)!
    expect(onBus.Dimensions).toEqual(
      expect.arrayContaining([
        { Name: 'EventBusName', Value: { Ref: busId } },
        { Name: 'RuleName', Value: { Ref: requestRuleId } },
      ]),
    )
    expect(dlqFailures.filter((a) => a.Dimensions.length === 1)).toHaveLength(dlqFailures.length - 1)
    // Rates are metric math, not "one 5xx in 5 minutes".
    const math = alarms.filter((a) => a.Metrics)
    expect(math).toHaveLength(2)
    const api5xx = math.find((a) => JSON.stringify(a.Metrics).includes('"5xx"'))!
    expect(api5xx.Metrics.find((m: any) => m.Expression).Expression).toMatch(/100 \* errors \/ requests/)
    expect(api5xx.Threshold).toBe(5)
    const githosted = math.find((a) => JSON.stringify(a.Metrics).includes('GithostedErrors'))!
    const ids = githosted.Metrics.filter((m: any) => m.MetricStat).map((m: any) => m.MetricStat.Metric)
    for (const m of ids) {
      expect(m.Namespace).toBe('GithostedCiBroker')
      expect(m.Dimensions).toEqual([{ Name: 'Stage', Value: 'dev' }])
    }
    // The topic is encrypted with a key CloudWatch may use.
    const topic = resourcesOf(t, 'AWS::SNS::Topic')[topicId]!.Properties!
    const keyId = topic.KmsMasterKeyId['Fn::GetAtt'][0]
    const key = resourcesOf(t, 'AWS::KMS::Key')[keyId]!.Properties!
    expect(key.EnableKeyRotation).toBe(true)
    expect(key.KeyPolicy.Statement.some((st: any) => st.Principal?.Service === 'cloudwatch.amazonaws.com')).toBe(true)
    t.resourceCountIs('AWS::SNS::Subscription', 0)
  })

  it('has a dashboard with the alarms, API, functions, broker metrics and the DLQ', () => {
    const dashboards = Object.values(resourcesOf(t, 'AWS::CloudWatch::Dashboard'))
    expect(dashboards).toHaveLength(1)
    const body = JSON.stringify(dashboards[0]!.Properties!.DashboardBody)
    expect(dashboards[0]!.Properties!.DashboardName).toBe('githosted-ci-broker-dev')
    // Every alarm is on the status widget.
    for (const id of Object.keys(resourcesOf(t, 'AWS::CloudWatch::Alarm'))) expect(body).toContain(`["${id}","Arn"]`)
    for (const needle of ['AWS/ApiGateway', 'AWS/Lambda', 'GithostedCiBroker', 'TokensIssued', 'DeploysApplied', 'ApproximateNumberOfMessagesVisible']) {
      expect(body, needle).toContain(needle)
    }
  })

  it('keeps the state table: on demand, TTL, PITR, retained; each function limited to its own key prefixes', () => {
    const tables = resourcesOf(t, 'AWS::DynamoDB::GlobalTable')
    const [tableId, table] = Object.entries(tables)[0]!
    expect(Object.keys(tables)).toHaveLength(1)
    expect((table as any).DeletionPolicy).toBe('Retain')
    expect((table as any).UpdateReplacePolicy).toBe('Retain')
    expect(table.Properties).toMatchObject({
      TableName: 'githosted-ci-broker-dev-state',
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      BillingMode: 'PAY_PER_REQUEST',
    })
    expect(table.Properties!.Replicas[0].PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true })
    for (const name of ['Token', 'Deploy', 'Status', 'Events'] as const) {
      const ddb = roleStatements(t, name).filter((st) => actionsOf(st).some((a) => a.startsWith('dynamodb:')))
      expect(ddb, name).toHaveLength(1)
      expect(actionsOf(ddb[0]).sort()).toEqual([...STATE_TABLE_ACTIONS].sort())
      expect(ddb[0].Resource).toEqual({ 'Fn::GetAtt': [tableId, 'Arn'] })
      const prefixes = STATE_KEY_PREFIXES[name.toLowerCase() as keyof typeof STATE_KEY_PREFIXES]
      expect(ddb[0].Condition).toEqual({ 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': prefixes.map((p) => `${p}*`) } })
    }
    // Only the token function may touch replay and ownership records; only writers hold leases.
    expect(STATE_KEY_PREFIXES.token).toEqual(['replay#', 'token#', 'rate#', 'ip#'])
    expect(STATE_KEY_PREFIXES.status).toEqual(['rate#', 'ip#'])
    expect(STATE_KEY_PREFIXES.events).toEqual(['idem#', 'order#', 'lease#'])
    expect(STATE_KEY_PREFIXES.deploy).toEqual(['rate#', 'ip#', 'idem#', 'order#', 'lease#'])
  })

  it('tags the stack with app and stage, without termination protection for dev', () => {
    const fn = resourcesOf(t, 'AWS::Lambda::Function')[functionId(t, 'Token')]!.Properties!
    expect(fn.Tags).toEqual(expect.arrayContaining([{ Key: 'app', Value: 'githosted-ci-broker' }, { Key: 'stage', Value: 'dev' }]))
    expect(s.stack.terminationProtection).toBe(false)
    expect(s.stack.stackName).toBe('GithostedCiBroker-dev')
  })

  it('outputs the API URL, secret ARNs, DLQ URL and the fill commands', () => {
    const outputs = t.toJSON().Outputs as Record<string, { Value: any }>
    expect(Object.keys(outputs)).toEqual(
      expect.arrayContaining([
        'ApiUrl',
        'DeadLetterQueueUrl',
        'AlarmTopicArn',
        'WorkspaceTokenSecretArn',
        'DashboardTokenSecretArn',
        'BrokerKeysSecretArn',
        'ViewerCredentialSecretArn',
        'FillWorkspaceTokenCommand',
        'FillDashboardTokenCommand',
        'FillBrokerKeysCommand',
        'FillViewerCredentialCommand',
      ]),
    )
    // The value comes on stdin: never on a command line or in shell history.
    for (const name of ['WorkspaceToken', 'DashboardToken', 'BrokerKeys', 'ViewerCredential']) {
      const fill = JSON.stringify(outputs[`Fill${name}Command`]!.Value)
      expect(fill).toContain('aws secretsmanager put-secret-value --region ')
      expect(fill).toContain(logicalId(t, 'AWS::SecretsManager::Secret', `Secrets${name}`))
      expect(fill).toMatch(/--secret-string file:\/\/\/dev\/stdin"/)
    }
    expect(Object.keys(outputs)).toEqual(expect.arrayContaining(['EventsFunctionName', 'DeployRequestBusName', 'StateTableName', 'Stage']))
    expect(JSON.stringify(outputs.DeadLetterQueueUrl!.Value)).toContain(logicalId(t, 'AWS::SQS::Queue', 'EventRulesDeadLetterQueue'))
  })

  it('runs cdk-nag AwsSolutions and Serverless: no unacknowledged finding, every acknowledgment has a reason', async () => {
    const { readFileSync } = await import('node:fs')
    const report = JSON.parse(readFileSync(join(s.outdir, 'validation-report.json'), 'utf8'))
    const expected: Record<string, string[]> = {
      AwsSolutions: ['AwsSolutions-APIG4', 'AwsSolutions-IAM5', 'AwsSolutions-L1', 'AwsSolutions-SMG4', 'AwsSolutions-SQS3'],
      Serverless: ['Serverless-LambdaDLQ', 'Serverless-LambdaLatestVersion', 'Serverless-SQSRedrivePolicy'],
    }
    for (const [pack, rules] of Object.entries(expected)) {
      const nag = report.pluginReports.find((p: any) => p.pluginName === pack)
      expect(nag.conclusion, pack).toBe('success')
      expect(nag.violations).toEqual([])
      expect([...new Set(nag.suppressedViolations.map((v: any) => v.ruleName.replace(/\[.*$/, '')))].sort()).toEqual(rules)
      for (const v of nag.suppressedViolations) expect(v.reason.length, v.ruleName).toBeGreaterThan(60)
    }
  })
})

describe('BrokerStack (stage prod, no-layer region, imported secrets under a customer key, domain, senders)', () => {
  const arn = (name: string) => `arn:aws:secretsmanager:ap-southeast-5:123456789012:secret:broker/${name}-AbC123`
  const KEY = 'arn:aws:kms:ap-southeast-5:123456789012:key/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0'
  let s: Synthesized
  let t: Template
  beforeAll(() => {
    s = synth({
      stage: 'prod',
      region: 'ap-southeast-5',
      workspaceTokenSecretArn: arn('workspace'),
      dashboardTokenSecretArn: arn('dashboard'),
      secretsKmsKeyArn: KEY,
      alarmEmail: 'oncall@example.com',
      domainName: 'broker.example.com',
      certificateArn: 'arn:aws:acm:ap-southeast-5:123456789012:certificate/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0',
      hostedZoneId: 'Z0123456789ABCDEFGHIJ',
      hostedZoneName: 'example.com',
      logRetentionDays: '90',
      eventSenders: '111111111111,arn:aws:iam::222222222222:role/release-pipeline',
      tags: { team: 'platform', 'cost-center': '42' },
    })
    t = s.template
  })
  afterAll(() => s?.cleanup())

  it('falls back to SECRETS_SOURCE=sdk where no extension layer exists, and says so at synth', () => {
    for (const name of ['Token', 'Deploy', 'Status', 'Events']) {
      const fn = resourcesOf(t, 'AWS::Lambda::Function')[functionId(t, name)]!.Properties!
      expect(fn.Layers, name).toBeUndefined()
      expect(fn.Environment.Variables.SECRETS_SOURCE).toBe('sdk')
      expect(Object.keys(fn.Environment.Variables).some((k) => k.startsWith('PARAMETERS_SECRETS_'))).toBe(false)
    }
    const warnings = s.assembly.getStackArtifact(s.stack.artifactId).messages.filter((m) => m.level === 'warning')
    expect(warnings.map((w) => String(w.entry.data)).join('\n')).toMatch(/SECRETS_SOURCE=sdk.*no arm64 Parameters and Secrets extension layer for ap-southeast-5/)
  })

  it('imports secrets by ARN and grants kms:Decrypt on the customer key to every reader', () => {
    expect(Object.keys(resourcesOf(t, 'AWS::SecretsManager::Secret')).sort().map((id) => id.replace(/[0-9A-F]{8}$/, ''))).toEqual([
      'SecretsBrokerKeys',
      'SecretsViewerCredential',
    ])
    for (const secret of Object.values(resourcesOf(t, 'AWS::SecretsManager::Secret'))) {
      expect(secret.Properties!.KmsKeyId).toBe(KEY)
      expect(secret.Properties!.Name).toMatch(/^githosted-ci-broker-prod\//)
    }
    const env = resourcesOf(t, 'AWS::Lambda::Function')[functionId(t, 'Events')]!.Properties!.Environment.Variables
    expect(env.WORKSPACE_TOKEN_SECRET_ARN).toBe(arn('workspace'))
    for (const name of ['Token', 'Deploy', 'Status', 'Events']) {
      const decrypt = roleStatements(t, name).filter((st) => actionsOf(st).includes('kms:Decrypt'))
      expect(decrypt, name).toHaveLength(1)
      expect(decrypt[0].Resource).toBe(KEY)
      expect(JSON.stringify(decrypt[0].Condition)).toContain('kms:ViaService')
    }
    const outputs = t.toJSON().Outputs as Record<string, { Value: any }>
    expect(outputs.WorkspaceTokenSecretArn!.Value).toBe(arn('workspace'))
    expect(outputs.FillWorkspaceTokenCommand).toBeUndefined()
    expect(outputs.FillBrokerKeysCommand).toBeDefined()
  })

  it('maps the custom domain with Route 53 alias records and switches the execute-api endpoint off', () => {
    t.hasResourceProperties('AWS::ApiGatewayV2::DomainName', {
      DomainName: 'broker.example.com',
      DomainNameConfigurations: [Match.objectLike({ CertificateArn: Match.stringLikeRegexp('^arn:aws:acm:') })],
    })
    t.resourceCountIs('AWS::ApiGatewayV2::ApiMapping', 1)
    t.hasResourceProperties('AWS::ApiGatewayV2::Api', { DisableExecuteApiEndpoint: true, Name: 'githosted-ci-broker-prod' })
    const records = Object.values(resourcesOf(t, 'AWS::Route53::RecordSet')).map((r) => r.Properties!)
    expect(records.map((r) => r.Type).sort()).toEqual(['A', 'AAAA'])
    for (const r of records) {
      expect(r.HostedZoneId).toBe('Z0123456789ABCDEFGHIJ')
      expect(r.Name).toBe('broker.example.com.')
      expect(r.AliasTarget.DNSName['Fn::GetAtt'][1]).toBe('RegionalDomainName')
    }
    t.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'oncall@example.com' })
    const outputs = t.toJSON().Outputs as Record<string, { Value: any }>
    expect(outputs.ApiUrl!.Value).toBe('https://broker.example.com/')
    for (const g of Object.values(resourcesOf(t, 'AWS::Logs::LogGroup'))) expect(g.Properties!.RetentionInDays).toBe(90)
  })

  it('takes deploy requests only on its own bus, from the listed senders\' accounts', () => {
    const buses = Object.entries(resourcesOf(t, 'AWS::Events::EventBus'))
    expect(buses).toHaveLength(1)
    const [busId, bus] = buses[0]!
    expect(bus.Properties!.Name).toBe('githosted-ci-broker-prod-deploy-requests')
    const policies = Object.values(resourcesOf(t, 'AWS::Events::EventBusPolicy')).map((p) => p.Properties!.Statement)
    const principals = policies.map((st) => st.Principal.AWS)
    expect(JSON.stringify(principals)).toContain('arn:aws:iam::222222222222:role/release-pipeline')
    expect(JSON.stringify(principals)).toContain(':iam::111111111111:root')
    expect(principals).toHaveLength(2)
    for (const st of policies) {
      expect(st.Action).toBe('events:PutEvents')
      expect(st.Condition.StringEquals).toEqual({ 'events:source': ['githosted-ci-broker'], 'events:detail-type': ['Deploy Requested'] })
    }
    const rules = Object.values(resourcesOf(t, 'AWS::Events::Rule')).map((r) => r.Properties!)
    const request = rules.find((r) => r.EventPattern.source[0] === 'githosted-ci-broker')!
    expect(request.EventBusName).toEqual({ Ref: busId })
    expect(request.EventPattern.account).toEqual([{ Ref: 'AWS::AccountId' }, '111111111111', '222222222222'])
    // Every rule filters on account: nothing from an unlisted account triggers a deploy.
    for (const rule of rules) expect(rule.EventPattern.account, JSON.stringify(rule.EventPattern)).toBeDefined()
    const ecr = rules.filter((r) => r.EventPattern.source[0] === 'aws.ecr')
    expect(ecr.length).toBeGreaterThan(0)
    for (const r of ecr) {
      expect(r.EventBusName).toBeUndefined()
      expect(r.EventPattern.account).toEqual([{ Ref: 'AWS::AccountId' }])
    }
  })

  it('protects a non-dev stage: termination protection, table deletion protection, tags', () => {
    expect(s.stack.terminationProtection).toBe(true)
    expect(s.stack.stackName).toBe('GithostedCiBroker-prod')
    const table = Object.values(resourcesOf(t, 'AWS::DynamoDB::GlobalTable'))[0]!.Properties!
    expect(table.Replicas[0].DeletionProtectionEnabled).toBe(true)
    const fn = resourcesOf(t, 'AWS::Lambda::Function')[functionId(t, 'Deploy')]!.Properties!
    expect(fn.Tags).toEqual(expect.arrayContaining([{ Key: 'stage', Value: 'prod' }, { Key: 'team', Value: 'platform' }, { Key: 'cost-center', Value: '42' }]))
  })
})

describe('BrokerStack (stage staging, explicit layer ARN) next to prod', () => {
  const LAYER = 'arn:aws:lambda:eu-west-1:123456789012:layer:my-params-and-secrets:7'
  let staging: Synthesized
  let prod: Synthesized
  beforeAll(() => {
    staging = synth({ stage: 'staging', region: 'eu-west-1', paramsSecretsLayerArn: LAYER, autoPromoteSchedule: 'rate(5 minutes)' })
    prod = synth({ stage: 'prod', region: 'eu-west-1' })
  })
  afterAll(() => {
    staging?.cleanup()
    prod?.cleanup()
  })

  it('uses the override layer as given', () => {
    for (const fn of Object.values(resourcesOf(staging.template, 'AWS::Lambda::Function'))) {
      expect(fn.Properties!.Layers).toEqual([LAYER])
      expect(fn.Properties!.Environment.Variables.SECRETS_SOURCE).toBe('extension')
    }
  })

  it('schedules auto-promotion only where configured (off by default), targeting the events function', () => {
    const scheduled = (t: Template) => Object.values(resourcesOf(t, 'AWS::Events::Rule')).filter((r) => r.Properties?.ScheduleExpression !== undefined)
    const [rule] = scheduled(staging.template)
    expect(rule?.Properties).toMatchObject({ ScheduleExpression: 'rate(5 minutes)', State: 'ENABLED' })
    const eventsFn = Object.entries(resourcesOf(staging.template, 'AWS::Lambda::Function')).find(([id]) => id.startsWith('EventsFunction'))![0]
    expect(JSON.stringify(rule!.Properties!.Targets)).toContain(eventsFn)
    expect(scheduled(prod.template)).toEqual([])
    expect(() => synth({ autoPromoteSchedule: 'every 5 minutes' })).toThrow(/autoPromoteSchedule/)
  })

  it('shares no physical name with another stage in the same account and region', () => {
    const NAME_KEYS = ['FunctionName', 'TableName', 'QueueName', 'Name', 'TopicName', 'AlarmName', 'DashboardName', 'LogGroupName']
    const names = (t: Template) => {
      const out: string[] = []
      for (const r of Object.values(t.toJSON().Resources as Resources)) {
        for (const k of NAME_KEYS) if (typeof r.Properties?.[k] === 'string') out.push(`${r.Type}|${r.Properties[k]}`)
      }
      return out
    }
    const a = names(staging.template)
    const b = names(prod.template)
    // Every named resource kind is there, and none collides.
    expect(new Set(a.map((n) => n.split('|')[0])).size).toBeGreaterThan(6)
    expect(a.filter((n) => b.includes(n))).toEqual([])
    for (const n of a) expect(n).toMatch(/githosted-ci-broker-staging/)
    expect(staging.stack.stackName).not.toBe(prod.stack.stackName)
  })
})

describe('BrokerStack (state table switched off)', () => {
  it('refuses to synthesize while the policy trusts OIDC issuers', () => {
    expect(() => synth({ stateTable: false })).toThrow(/stateTable=false, but config\/policy\.yaml trusts OIDC issuers \(github, gitlab\)/)
  })
})

describe('BrokerStack (a stage with its own config directory)', () => {
  let root: string
  let t: Template
  beforeAll(() => {
    // A project whose stage `qa` has its own mapping and a broker-key-only policy.
    root = mkdtempSync(join(tmpdir(), 'broker-stage-root-'))
    symlinkSync(join(PROJECT_ROOT, 'functions'), join(root, 'functions'), 'dir')
    cpSync(join(PROJECT_ROOT, 'config'), join(root, 'config'), { recursive: true })
    mkdirSync(join(root, 'config', 'stages', 'qa'), { recursive: true })
    writeFileSync(
      join(root, 'config', 'stages', 'qa', 'deploy-mapping.json'),
      JSON.stringify({ ecr: [{ ecrRepository: 'qa-only/service', repo: 'deploy-configs', environments: ['qa'], imageFormat: '{registry}/{repository}:{tag}' }], deployRequests: [] }),
    )
    writeFileSync(
      join(root, 'config', 'stages', 'qa', 'policy.yaml'),
      'version: 1\nrules:\n  - name: ci-legacy\n    match:\n      brokerKey: ci-legacy\n    grant:\n      repos: [deploy-configs]\n      permission: read\n      maxTtl: 1h\n',
    )
    const { app, stack } = createApp(
      { outdir: join(root, 'cdk.out'), context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [], stage: 'qa', stateTable: 'false' } },
      root,
    )
    app.synth()
    t = Template.fromStack(stack)
  })
  afterAll(() => rmSync(root, { recursive: true, force: true }))

  it('filters ECR pushes by the stage\'s mapping', () => {
    const ecr = Object.values(resourcesOf(t, 'AWS::Events::Rule')).filter((r) => r.Properties!.EventPattern.source[0] === 'aws.ecr')
    expect(ecr.map((r) => r.Properties!.EventPattern.detail['repository-name'])).toEqual([['qa-only/service']])
  })

  it('may run without the state table when the stage\'s policy trusts no OIDC issuer', () => {
    t.resourceCountIs('AWS::DynamoDB::GlobalTable', 0)
    for (const fn of Object.values(resourcesOf(t, 'AWS::Lambda::Function'))) {
      expect(fn.Properties!.Environment.Variables.STATE_TABLE_NAME).toBeUndefined()
    }
  })
})
