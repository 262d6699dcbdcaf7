/**
 * The githosted-ci-broker stack of one stage: secrets, four functions with
 * least-privilege roles, the shared-state table, the HTTP API, the stage's
 * event bus and rules with a dead-letter queue, alarms, a dashboard, and
 * outputs. No account is needed at synth (`cdk synth` runs offline without
 * credentials); the region, when known, picks the secrets layer.
 */
import { Duration, Stack, Tags, type StackProps } from 'aws-cdk-lib'
import { Construct } from 'constructs'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { loadPolicyFile } from '../functions/lib/policy/load-file.js'
import { BrokerAlarms } from './alarms.js'
import { BrokerFunction, type FunctionName } from './broker-function.js'
import { type BrokerConfig, ContextError, type SecretKey } from './config.js'
import { BrokerDashboard } from './dashboard.js'
import { contextEcrFilters, readEcrFilters } from './deploy-mapping.js'
import { BrokerEventRules } from './event-rules.js'
import { BrokerHttpApi } from './http-api.js'
import { acknowledgeFindings } from './nag.js'
import { addOutputs } from './outputs.js'
import { BrokerSecrets } from './secrets.js'
import { announceSecretsSource, resolveSecretsSource } from './secrets-layer.js'
import { StateTable } from './state-table.js'

export interface BrokerStackProps extends StackProps {
  config: BrokerConfig
  /** Repository root (holds functions/, config/, package-lock.json). */
  projectRoot: string
}

/**
 * Which secrets each function may read, and under which environment variable
 * the ARN is passed (docs: docs/env-contract.md). The status function
 * never sees the workspace token.
 */
export const SECRET_ACCESS: Record<FunctionName, Partial<Record<SecretKey, string>>> = {
  token: { workspaceToken: 'WORKSPACE_TOKEN_SECRET_ARN', brokerKeys: 'BROKER_KEYS_SECRET_ARN' },
  deploy: { workspaceToken: 'WORKSPACE_TOKEN_SECRET_ARN', brokerKeys: 'BROKER_KEYS_SECRET_ARN' },
  events: { workspaceToken: 'WORKSPACE_TOKEN_SECRET_ARN' },
  status: {
    dashboardToken: 'DASHBOARD_TOKEN_SECRET_ARN',
    brokerKeys: 'BROKER_KEYS_SECRET_ARN',
    viewerCredential: 'VIEWER_CREDENTIAL_SECRET_ARN',
  },
}

/** Timeouts, exported for the alarms' tests (p99 vs 80% of the timeout). */
export const FUNCTION_SETTINGS: Record<FunctionName, { description: string; timeout: Duration; memorySize: number }> = {
  token: { description: 'Mints scoped githosted tokens for CI (/ci/token, /v1/tokens)', timeout: Duration.seconds(15), memorySize: 512 },
  // Below API Gateway's 30 s integration limit, so a slow deploy ends as the function's own
  // answer (the githosted request deadline sits under this) and not as a bare 503 from the gateway.
  deploy: { description: 'Applies config updates (/v1/deploys)', timeout: Duration.seconds(28), memorySize: 512 },
  status: { description: 'Deployment status API and dashboard (/v1/status, /)', timeout: Duration.seconds(15), memorySize: 512 },
  events: { description: 'Applies deploys from ECR push and deploy-request events', timeout: Duration.seconds(60), memorySize: 512 },
}

/** Physical name prefix of a stage's resources. */
export function namePrefix(stage: string): string {
  return `githosted-ci-broker-${stage}`
}

/**
 * The config directory of a stage, relative to the project root:
 * `config/stages/<stage>/` when it exists (its policy.yaml and
 * deploy-mapping.json replace config/'s, file by file), else `config`.
 */
export function stageConfigDir(projectRoot: string, stage: string): string {
  const dir = join('config', 'stages', stage)
  return existsSync(join(projectRoot, dir)) ? dir : 'config'
}

/** The file a stage uses: its own copy when it has one, else config/'s. */
export function stageConfigFile(projectRoot: string, stage: string, file: string): string {
  const own = join(projectRoot, stageConfigDir(projectRoot, stage), file)
  return existsSync(own) ? own : join(projectRoot, 'config', file)
}

/** The broker's AWS resources. */
export class BrokerStack extends Stack {
  readonly functions: Record<FunctionName, BrokerFunction>
  readonly stateTable?: StateTable

  constructor(scope: Construct, id: string, props: BrokerStackProps) {
    super(scope, id, { ...props, terminationProtection: props.config.protect })
    const { config, projectRoot } = props
    const prefix = namePrefix(config.stage)
    const configDir = stageConfigDir(projectRoot, config.stage)

    Tags.of(this).add('app', 'githosted-ci-broker')
    Tags.of(this).add('stage', config.stage)
    for (const [key, value] of Object.entries(config.tags)) Tags.of(this).add(key, value)

    // Mint-once, revocation and rate limits hold across containers only through the table:
    // without it an ID token could mint once per container.
    const policyFile = stageConfigFile(projectRoot, config.stage, 'policy.yaml')
    const issuers = loadPolicyFile(policyFile).issuers
    if (!config.stateTable && issuers.length > 0) {
      throw new ContextError(
        `stateTable=false, but ${policyFile.slice(projectRoot.length + 1)} trusts OIDC issuers ` +
          `(${issuers.map((i) => i.name).join(', ')}): single-use ID tokens and revocation need the state table. ` +
          'Remove -c stateTable=false, or remove the issuers.',
      )
    }
    this.stateTable = config.stateTable
      ? new StateTable(this, 'State', { tableName: `${prefix}-state`, protect: config.protect })
      : undefined

    const secretsSource = resolveSecretsSource({
      architecture: config.architecture,
      ...(config.region ? { region: config.region } : {}),
      ...(config.paramsSecretsLayerArn ? { override: config.paramsSecretsLayerArn } : {}),
    })
    announceSecretsSource(this, secretsSource)

    const secrets = new BrokerSecrets(this, 'Secrets', {
      arns: config.secretArns,
      namePrefix: prefix,
      ...(config.secretsKmsKeyArn ? { kmsKeyArn: config.secretsKmsKeyArn } : {}),
    })

    const build = (name: FunctionName): BrokerFunction => {
      const environment: Record<string, string> = {
        GITHOSTED_URL: config.githostedUrl,
        LOG_LEVEL: config.logLevel,
        SECRET_CACHE_TTL_SECONDS: String(config.secretCacheTtlSeconds),
        BROKER_STAGE: config.stage,
      }
      for (const [key, variable] of Object.entries(SECRET_ACCESS[name]) as [SecretKey, string][]) {
        environment[variable] = secrets.secrets[key].secret.secretArn
      }
      if (name !== 'events') environment.OIDC_AUDIENCE = config.oidcAudience
      if (name === 'status') environment.STATUS_REPO = config.statusRepo
      if (this.stateTable) environment.STATE_TABLE_NAME = this.stateTable.table.tableName

      const fn = new BrokerFunction(this, pascal(name), {
        name,
        functionName: `${prefix}-${name}`,
        architecture: config.architecture,
        secretsSource,
        configDir,
        ...FUNCTION_SETTINGS[name],
        projectRoot,
        environment,
        logRetentionDays: config.logRetentionDays,
        sourceMaps: config.sourceMaps,
        ...(config.reservedConcurrency !== undefined ? { reservedConcurrency: config.reservedConcurrency } : {}),
      })
      for (const key of Object.keys(SECRET_ACCESS[name]) as SecretKey[]) {
        secrets.secrets[key].secret.grantRead(fn.fn)
      }
      secrets.grantDecrypt(fn.fn)
      this.stateTable?.grantFunction(fn.fn, name)
      return fn
    }
    this.functions = { token: build('token'), deploy: build('deploy'), status: build('status'), events: build('events') }

    const api = new BrokerHttpApi(this, 'Http', {
      apiName: prefix,
      token: this.functions.token.fn,
      deploy: this.functions.deploy.fn,
      status: this.functions.status.fn,
      throttle: config.throttle,
      logRetentionDays: config.logRetentionDays,
      ...(config.customDomain ? { customDomain: config.customDomain } : {}),
    })

    const mappingPath = stageConfigFile(projectRoot, config.stage, 'deploy-mapping.json')
    const events = new BrokerEventRules(this, 'EventRules', {
      handler: this.functions.events.fn,
      ecr: readEcrFilters(mappingPath) ?? contextEcrFilters(config.ecrRepositories),
      namePrefix: prefix,
      senders: config.eventSenders,
      ...(config.autoPromoteSchedule ? { autoPromoteSchedule: config.autoPromoteSchedule } : {}),
    })

    const fns = Object.fromEntries(Object.entries(this.functions).map(([n, f]) => [n, f.fn])) as Record<FunctionName, BrokerFunction['fn']>
    const alarms = new BrokerAlarms(this, 'Alarms', {
      namePrefix: prefix,
      stage: config.stage,
      functions: fns,
      api: api.api,
      deadLetterQueue: events.deadLetterQueue,
      rules: [
        { rule: events.deployRequestRule, busName: events.bus.eventBusName },
        ...[events.ecrRule, events.ecrUntaggedRule].flatMap((rule) => (rule ? [{ rule }] : [])),
      ],
      ...(config.alarmEmail ? { alarmEmail: config.alarmEmail } : {}),
    })

    new BrokerDashboard(this, 'Dashboard', {
      dashboardName: prefix,
      stage: config.stage,
      functions: fns,
      api: api.api,
      deadLetterQueue: events.deadLetterQueue,
      alarms: alarms.alarms,
    })

    addOutputs(this, {
      stage: config.stage,
      apiUrl: api.url,
      secrets: secrets.secrets,
      deadLetterQueueUrl: events.deadLetterQueue.queueUrl,
      eventsFunctionName: this.functions.events.fn.functionName,
      deployRequestBusName: events.bus.eventBusName,
      alarmTopicArn: alarms.topic.topicArn,
      ...(this.stateTable ? { stateTableName: this.stateTable.table.tableName } : {}),
      ...(api.domain ? { customDomainTarget: api.domain.regionalDomainName } : {}),
    })

    acknowledgeFindings({ secrets, api, events, functions: this.functions, alarms })
  }
}

function pascal(name: string): string {
  return name.charAt(0).toUpperCase() + name.slice(1)
}
