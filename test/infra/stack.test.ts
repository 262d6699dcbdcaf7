/**
 * Assertions on the synthesized template (bundling skipped: these tests are
 * about the resources, test/infra/bundle.test.ts is about the code).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { join } from 'node:path'
import { Match, type Template } from 'aws-cdk-lib/assertions'
import { PROJECT_ROOT } from '../../infra/main.js'
import { contextEcrFilters, readEcrFilters } from '../../infra/deploy-mapping.js'
import { ROUTES } from '../../infra/http-api.js'
import { REPLAY_TABLE_ACTIONS } from '../../infra/replay-table.js'
import { synth, type Synthesized } from './synth.js'

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
const ENV_COMMON = ['GITHOSTED_URL', 'LOG_LEVEL', 'SECRET_CACHE_TTL_SECONDS', 'SECRETS_SOURCE', ...ENV_EXTENSION]
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
    s = synth({ ecrRepositories: FALLBACK_REPOS.join(',') })
    t = s.template
  })
  afterAll(() => s?.cleanup())

  it('has four Node 22 arm64 functions with ESM bundles and their own log groups', () => {
    t.resourceCountIs('AWS::Lambda::Function', 4)
    for (const name of ['Token', 'Deploy', 'Status', 'Events']) {
      const fn = resourcesOf(t, 'AWS::Lambda::Function')[functionId(t, name)]!.Properties!
      expect(fn.Runtime).toBe('nodejs22.x')
      expect(fn.Architectures).toEqual(['arm64'])
      expect(fn.Handler).toBe('index.handler')
      expect(fn.LoggingConfig.LogGroup).toEqual({ Ref: logicalId(t, 'AWS::Logs::LogGroup', `${name}Logs`) })
    }
    // Retention through real log groups, not the deprecated logRetention custom resource.
    expect(Object.keys(resourcesOf(t, 'Custom::LogRetention'))).toHaveLength(0)
    const groups = Object.values(resourcesOf(t, 'AWS::Logs::LogGroup'))
    expect(groups).toHaveLength(5)
    for (const g of groups) expect(g.Properties!.RetentionInDays).toBe(30)
  })

  it('sets exactly the environment variables of the env contract', () => {
    for (const [name, keys] of Object.entries(EXPECTED_ENV)) {
      const env = resourcesOf(t, 'AWS::Lambda::Function')[functionId(t, name)]!.Properties!.Environment.Variables
      expect(Object.keys(env).sort(), name).toEqual([...keys].sort())
      expect(env.GITHOSTED_URL).toBe('https://api.githosted.dev')
      expect(env.LOG_LEVEL).toBe('info')
      expect(env.SECRET_CACHE_TTL_SECONDS).toBe('300')
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

  it('reads secrets through the Parameters and Secrets extension layer, its own cache off', () => {
    const template = t.toJSON() as { Mappings?: Record<string, Record<string, Record<string, string>>> }
    for (const name of ['Token', 'Deploy', 'Status', 'Events']) {
      const fn = resourcesOf(t, 'AWS::Lambda::Function')[functionId(t, name)]!.Properties!
      expect(fn.Layers, name).toHaveLength(1)
      // Env-agnostic: the layer ARN is looked up per region in a mapping, not hard-coded.
      const [map, region, key] = fn.Layers[0]['Fn::FindInMap']
      expect(region).toEqual({ Ref: 'AWS::Region' })
      expect(key).toMatch(/arm64$/)
      const arns = Object.values(template.Mappings![map]!).map((byKey) => byKey[key])
      expect(arns.length).toBeGreaterThan(10)
      for (const arn of arns) expect(arn).toMatch(/^arn:aws[\w-]*:lambda:[\w-]+:\d{12}:layer:AWS-Parameters-and-Secrets-Lambda-Extension-Arm64:\d+$/)
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
    const statements = allStatements(t.toJSON())
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

  it('alarms on function errors and throttles, API 5xx and DLQ depth, into one topic', () => {
    const alarms = Object.values(resourcesOf(t, 'AWS::CloudWatch::Alarm')).map((a) => a.Properties!)
    const topicId = logicalId(t, 'AWS::SNS::Topic', 'AlarmsTopic')
    const key = (a: any) => `${a.Namespace}:${a.MetricName}`
    expect(alarms.map(key).sort()).toEqual(
      [
        ...Array(4).fill('AWS/Lambda:Errors'),
        ...Array(4).fill('AWS/Lambda:Throttles'),
        'AWS/ApiGateway:5xx',
        'AWS/SQS:ApproximateNumberOfMessagesVisible',
      ].sort(),
    )
    for (const alarm of alarms) {
      expect(alarm.AlarmActions).toEqual([{ Ref: topicId }])
      expect(alarm.Threshold).toBe(1)
      expect(alarm.TreatMissingData).toBe('notBreaching')
    }
    const lambdaAlarms = alarms.filter((a) => a.Namespace === 'AWS/Lambda')
    const covered = lambdaAlarms.map((a) => a.Dimensions[0].Value.Ref).sort()
    const fnIds = ['Token', 'Deploy', 'Status', 'Events'].map((n) => functionId(t, n))
    expect(covered).toEqual([...fnIds, ...fnIds].sort())
    t.resourceCountIs('AWS::SNS::Subscription', 0)
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
    const fill = JSON.stringify(outputs.FillWorkspaceTokenCommand!.Value)
    expect(fill).toContain('aws secretsmanager put-secret-value --region ')
    expect(fill).toContain(logicalId(t, 'AWS::SecretsManager::Secret', 'SecretsWorkspaceToken'))
    expect(fill).toContain('--secret-string \\"$GITHOSTED_WORKSPACE_TOKEN\\"')
    expect(JSON.stringify(outputs.FillBrokerKeysCommand!.Value)).toContain('file://broker-keys.json')
    expect(JSON.stringify(outputs.DeadLetterQueueUrl!.Value)).toContain(logicalId(t, 'AWS::SQS::Queue', 'EventRulesDeadLetterQueue'))
  })

  it('runs cdk-nag AwsSolutions: no unacknowledged finding, every acknowledgment has a reason', async () => {
    const { readFileSync } = await import('node:fs')
    const report = JSON.parse(readFileSync(join(s.outdir, 'validation-report.json'), 'utf8'))
    const nag = report.pluginReports.find((p: any) => p.pluginName === 'AwsSolutions')
    expect(nag.conclusion).toBe('success')
    expect(nag.violations).toEqual([])
    expect([...new Set(nag.suppressedViolations.map((v: any) => v.ruleName))].sort()).toEqual(
      ['AwsSolutions-APIG4', 'AwsSolutions-L1', 'AwsSolutions-SMG4', 'AwsSolutions-SQS3'],
    )
    for (const v of nag.suppressedViolations) expect(v.reason.length, v.ruleName).toBeGreaterThan(60)
  })
})

describe('BrokerStack (optional features)', () => {
  const arn = (name: string) => `arn:aws:secretsmanager:eu-west-1:123456789012:secret:broker/${name}-AbC123`
  let s: Synthesized
  let t: Template
  beforeAll(() => {
    s = synth({
      replayTable: true,
      workspaceTokenSecretArn: arn('workspace'),
      dashboardTokenSecretArn: arn('dashboard'),
      alarmEmail: 'oncall@example.com',
      domainName: 'broker.example.com',
      certificateArn: 'arn:aws:acm:eu-west-1:123456789012:certificate/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0',
      logRetentionDays: '90',
    })
    t = s.template
  })
  afterAll(() => s?.cleanup())

  it('creates the replay table with TTL and gives only token and deploy item-level access', () => {
    const tableId = logicalId(t, 'AWS::DynamoDB::GlobalTable', 'ReplayTable')
    t.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      BillingMode: 'PAY_PER_REQUEST',
    })
    for (const name of ['Token', 'Deploy', 'Status', 'Events']) {
      const env = resourcesOf(t, 'AWS::Lambda::Function')[functionId(t, name)]!.Properties!.Environment.Variables
      const ddb = roleStatements(t, name).filter((st) => actionsOf(st).some((a) => a.startsWith('dynamodb:')))
      if (name === 'Token' || name === 'Deploy') {
        expect(env.REPLAY_TABLE_NAME).toEqual({ Ref: tableId })
        expect(ddb).toHaveLength(1)
        expect(actionsOf(ddb[0]).sort()).toEqual([...REPLAY_TABLE_ACTIONS].sort())
      } else {
        expect(env.REPLAY_TABLE_NAME).toBeUndefined()
        expect(ddb).toHaveLength(0)
      }
    }
  })

  it('imports secrets by ARN: no resource, the ARN in env and grant, no fill command', () => {
    expect(Object.keys(resourcesOf(t, 'AWS::SecretsManager::Secret')).sort().map((id) => id.replace(/[0-9A-F]{8}$/, ''))).toEqual([
      'SecretsBrokerKeys',
      'SecretsViewerCredential',
    ])
    const env = resourcesOf(t, 'AWS::Lambda::Function')[functionId(t, 'Events')]!.Properties!.Environment.Variables
    expect(env.WORKSPACE_TOKEN_SECRET_ARN).toBe(arn('workspace'))
    const grant = roleStatements(t, 'Events').find((st) => actionsOf(st).includes('secretsmanager:GetSecretValue'))
    expect(grant.Resource).toBe(arn('workspace'))
    const outputs = t.toJSON().Outputs as Record<string, { Value: any }>
    expect(outputs.WorkspaceTokenSecretArn!.Value).toBe(arn('workspace'))
    expect(outputs.FillWorkspaceTokenCommand).toBeUndefined()
    expect(outputs.FillBrokerKeysCommand).toBeDefined()
  })

  it('maps the custom domain, subscribes the alarm email and applies the retention', () => {
    t.hasResourceProperties('AWS::ApiGatewayV2::DomainName', {
      DomainName: 'broker.example.com',
      DomainNameConfigurations: [Match.objectLike({ CertificateArn: Match.stringLikeRegexp('^arn:aws:acm:') })],
    })
    t.resourceCountIs('AWS::ApiGatewayV2::ApiMapping', 1)
    t.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'oncall@example.com' })
    const outputs = t.toJSON().Outputs as Record<string, { Value: any }>
    expect(outputs.ApiUrl!.Value).toBe('https://broker.example.com/')
    expect(outputs.CustomDomainTarget).toBeDefined()
    for (const g of Object.values(resourcesOf(t, 'AWS::Logs::LogGroup'))) expect(g.Properties!.RetentionInDays).toBe(90)
  })
})
