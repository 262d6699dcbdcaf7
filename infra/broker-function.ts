/**
 * One Lambda function of the broker: a NodejsFunction (Node.js 22, arm64)
 * whose code build/bundle.ts produces at synth (infra/bundling.ts), its own
 * log group with retention, and its own role that can write only to that log
 * group. Secrets are read through the AWS Parameters and Secrets Lambda
 * Extension (a layer; SECRETS_SOURCE=extension) where the region has one, so
 * no AWS SDK is loaded on a cold start, and through the runtime's SDK
 * elsewhere (infra/secrets-layer.ts); the grants are added by the stack.
 */
import { Duration, RemovalPolicy } from 'aws-cdk-lib'
import * as iam from 'aws-cdk-lib/aws-iam'
import * as lambda from 'aws-cdk-lib/aws-lambda'
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs'
import * as logs from 'aws-cdk-lib/aws-logs'
import { Construct } from 'constructs'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { functionCode } from './bundling.js'
import type { Architecture } from './config.js'
import type { SecretsSource } from './secrets-layer.js'

/** The four functions, in the order of functions/<name>/handler.ts. */
export const FUNCTION_NAMES = ['token', 'deploy', 'status', 'events'] as const
export type FunctionName = (typeof FUNCTION_NAMES)[number]

/**
 * The Parameters and Secrets extension as every broker function runs it.
 * Its own cache is off: the broker keeps each value for
 * SECRET_CACHE_TTL_SECONDS in memory already, and when githosted rejects a
 * rotated workspace token the broker drops its copy and must get the new
 * value from Secrets Manager, not a second cached copy up to 5 minutes old.
 * So the extension is a plain local proxy (one GetSecretValue per broker
 * cache period, the same count as the SDK path). Its Secrets Manager timeout
 * is below the function's 5 s client timeout, so a slow call comes back as
 * an answer (503) rather than an abandoned request.
 */
export const SECRETS_EXTENSION_OPTIONS: lambda.ParamsAndSecretsOptions = {
  cacheEnabled: false,
  cacheSize: 0,
  secretsManagerTimeout: Duration.seconds(3),
  logLevel: lambda.ParamsAndSecretsLogLevel.WARN,
}

export interface BrokerFunctionProps {
  name: FunctionName
  /** Physical function name (stage included, so stages in one account do not collide). */
  functionName: string
  architecture: Architecture
  secretsSource: SecretsSource
  /** Directory whose policy.yaml / deploy-mapping.json replace config/'s in the bundle (per stage). */
  configDir: string
  description: string
  projectRoot: string
  environment: Record<string, string>
  timeout: Duration
  memorySize: number
  logRetentionDays: number
  sourceMaps: boolean
  reservedConcurrency?: number
}

/** A broker Lambda with its log group and a role scoped to that log group. */
export class BrokerFunction extends Construct {
  readonly fn: NodejsFunction
  readonly logGroup: logs.LogGroup
  readonly role: iam.Role

  constructor(scope: Construct, id: string, props: BrokerFunctionProps) {
    super(scope, id)
    const entry = join(props.projectRoot, 'functions', props.name, 'handler.ts')
    if (!existsSync(entry)) throw new Error(`functions/${props.name}/handler.ts not found (looked in ${props.projectRoot})`)

    // `logRetention` (a custom-resource Lambda) is deprecated; an explicit log group
    // also lets the role be scoped to it instead of using AWSLambdaBasicExecutionRole.
    this.logGroup = new logs.LogGroup(this, 'Logs', {
      logGroupName: `/aws/lambda/${props.functionName}`,
      retention: props.logRetentionDays as logs.RetentionDays,
      // Audit lines live here; keep them after the stack is gone.
      removalPolicy: RemovalPolicy.RETAIN,
    })

    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `githosted-ci-broker ${props.name} function`,
    })
    this.logGroup.grantWrite(this.role)

    // The layer and the variable go together: the functions use the extension only when told to.
    const source = props.secretsSource
    const environment: Record<string, string> = { ...props.environment, SECRETS_SOURCE: source.kind }
    if (props.sourceMaps) environment.NODE_OPTIONS = '--enable-source-maps'

    this.fn = new NodejsFunction(this, 'Function', {
      description: props.description,
      // Built by build/bundle.ts (see infra/bundling.ts); `code` makes NodejsFunction skip its own esbuild run.
      functionName: props.functionName,
      code: functionCode(props.projectRoot, props.name, { sourceMaps: props.sourceMaps, configDir: props.configDir }),
      handler: 'index.handler',
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: props.architecture === 'arm64' ? lambda.Architecture.ARM_64 : lambda.Architecture.X86_64,
      // X-Ray: the trace id also lands in every log line (functions/lib/observability).
      tracing: lambda.Tracing.ACTIVE,
      memorySize: props.memorySize,
      timeout: props.timeout,
      role: this.role,
      logGroup: this.logGroup,
      environment,
      // A literal ARN resolved at synth for the stack's region (infra/secrets-layer.ts).
      ...(source.kind === 'extension'
        ? { paramsAndSecrets: lambda.ParamsAndSecretsLayerVersion.fromVersionArn(source.layerArn, SECRETS_EXTENSION_OPTIONS) }
        : {}),
      ...(props.reservedConcurrency !== undefined
        ? { reservedConcurrentExecutions: props.reservedConcurrency }
        : {}),
    })
  }
}
