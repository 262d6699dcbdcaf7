/**
 * The githosted-ci-broker stack: secrets, four functions with least-privilege
 * roles, the HTTP API, EventBridge rules with a dead-letter queue, alarms, the
 * optional replay table, and outputs. Environment-agnostic (no account or
 * region), so `cdk synth` runs offline without credentials.
 */
import { Duration, Stack, type StackProps } from 'aws-cdk-lib'
import { Construct } from 'constructs'
import { join } from 'node:path'
import { BrokerAlarms } from './alarms.js'
import { BrokerFunction, type FunctionName } from './broker-function.js'
import type { BrokerConfig, SecretKey } from './config.js'
import { contextEcrFilters, readEcrFilters } from './deploy-mapping.js'
import { BrokerEventRules } from './event-rules.js'
import { BrokerHttpApi } from './http-api.js'
import { acknowledgeFindings } from './nag.js'
import { addOutputs } from './outputs.js'
import { ReplayTable } from './replay-table.js'
import { BrokerSecrets } from './secrets.js'

export interface BrokerStackProps extends StackProps {
  config: BrokerConfig
  /** Repository root (holds functions/, config/, package-lock.json). */
  projectRoot: string
}

/**
 * Which secrets each function may read, and under which environment variable
 * the ARN is passed (docs: /work/notes/ENV-CONTRACT.md). The status function
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

/** Functions that use the optional replay/idempotency table. */
const REPLAY_TABLE_USERS: FunctionName[] = ['token', 'deploy']

const FUNCTION_SETTINGS: Record<FunctionName, { description: string; timeout: Duration; memorySize: number }> = {
  token: { description: 'Mints scoped githosted tokens for CI (/ci/token, /v1/tokens)', timeout: Duration.seconds(15), memorySize: 512 },
  deploy: { description: 'Applies config updates (/v1/deploys)', timeout: Duration.seconds(30), memorySize: 512 },
  status: { description: 'Deployment status API and dashboard (/v1/status, /)', timeout: Duration.seconds(15), memorySize: 512 },
  events: { description: 'Applies deploys from ECR push and deploy-request events', timeout: Duration.seconds(60), memorySize: 512 },
}

/** The broker's AWS resources. */
export class BrokerStack extends Stack {
  readonly functions: Record<FunctionName, BrokerFunction>

  constructor(scope: Construct, id: string, props: BrokerStackProps) {
    super(scope, id, props)
    const { config, projectRoot } = props

    const secrets = new BrokerSecrets(this, 'Secrets', config.secretArns)
    const replay = config.replayTable ? new ReplayTable(this, 'Replay') : undefined

    const build = (name: FunctionName): BrokerFunction => {
      const environment: Record<string, string> = {
        GITHOSTED_URL: config.githostedUrl,
        LOG_LEVEL: config.logLevel,
        SECRET_CACHE_TTL_SECONDS: String(config.secretCacheTtlSeconds),
      }
      for (const [key, variable] of Object.entries(SECRET_ACCESS[name]) as [SecretKey, string][]) {
        environment[variable] = secrets.secrets[key].secret.secretArn
      }
      if (name !== 'events') environment.OIDC_AUDIENCE = config.oidcAudience
      if (name === 'status') environment.STATUS_REPO = config.statusRepo
      if (replay && REPLAY_TABLE_USERS.includes(name)) environment.REPLAY_TABLE_NAME = replay.table.tableName

      const fn = new BrokerFunction(this, pascal(name), {
        name,
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
      if (replay && REPLAY_TABLE_USERS.includes(name)) replay.grantItemAccess(fn.fn)
      return fn
    }
    this.functions = { token: build('token'), deploy: build('deploy'), status: build('status'), events: build('events') }

    const api = new BrokerHttpApi(this, 'Http', {
      token: this.functions.token.fn,
      deploy: this.functions.deploy.fn,
      status: this.functions.status.fn,
      throttle: config.throttle,
      logRetentionDays: config.logRetentionDays,
      ...(config.customDomain ? { customDomain: config.customDomain } : {}),
    })

    const mappingPath = join(projectRoot, 'config', 'deploy-mapping.json')
    const events = new BrokerEventRules(this, 'EventRules', {
      handler: this.functions.events.fn,
      ecr: readEcrFilters(mappingPath) ?? contextEcrFilters(config.ecrRepositories),
    })

    const alarms = new BrokerAlarms(this, 'Alarms', {
      functions: Object.fromEntries(Object.entries(this.functions).map(([n, f]) => [n, f.fn])),
      api: api.api,
      deadLetterQueue: events.deadLetterQueue,
      ...(config.alarmEmail ? { alarmEmail: config.alarmEmail } : {}),
    })

    addOutputs(this, {
      apiUrl: api.url,
      secrets: secrets.secrets,
      deadLetterQueueUrl: events.deadLetterQueue.queueUrl,
      alarmTopicArn: alarms.topic.topicArn,
      ...(replay ? { replayTableName: replay.table.tableName } : {}),
      ...(api.domain ? { customDomainTarget: api.domain.regionalDomainName } : {}),
    })

    acknowledgeFindings({ secrets, api, events, functions: this.functions })
  }
}

function pascal(name: string): string {
  return name.charAt(0).toUpperCase() + name.slice(1)
}
