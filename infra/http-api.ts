/**
 * The public HTTP API: API Gateway HTTP API (payload format 2.0) routing to the
 * three HTTP functions, one throttled `$default` stage with JSON access logs,
 * and an optional custom domain. Authentication is the functions' job (broker
 * keys and OIDC tokens are verified in the app), see infra/nag.ts.
 */
import { RemovalPolicy } from 'aws-cdk-lib'
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway'
import * as apigw from 'aws-cdk-lib/aws-apigatewayv2'
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations'
import * as acm from 'aws-cdk-lib/aws-certificatemanager'
import type * as lambda from 'aws-cdk-lib/aws-lambda'
import * as logs from 'aws-cdk-lib/aws-logs'
import * as route53 from 'aws-cdk-lib/aws-route53'
import * as route53Targets from 'aws-cdk-lib/aws-route53-targets'
import { Construct } from 'constructs'
import { ROUTES as FUNCTION_ROUTES, type FunctionName } from '../functions/routes.js'
import type { CustomDomain } from './config.js'

export interface BrokerHttpApiProps {
  /** API name, stage included. */
  apiName: string
  token: lambda.IFunction
  deploy: lambda.IFunction
  status: lambda.IFunction
  throttle: { rateLimit: number; burstLimit: number }
  logRetentionDays: number
  customDomain?: CustomDomain
}

/**
 * Route table, from functions/routes.ts (the local router reads the same one,
 * so `npm start` and API Gateway cannot drift). `{proxy+}` carries sub-paths.
 */
export const ROUTES: ReadonlyArray<{ path: string; methods: apigw.HttpMethod[]; target: FunctionName }> = FUNCTION_ROUTES.map(
  (r) => ({ path: r.path, methods: r.methods.map((m) => apigw.HttpMethod[m]), target: r.fn }),
)

// One JSON object per request. $context variables only: no headers, so no
// Authorization value can ever reach the access log.
const ACCESS_LOG_FIELDS = {
  requestId: '$context.requestId',
  time: '$context.requestTime',
  ip: '$context.identity.sourceIp',
  userAgent: '$context.identity.userAgent',
  method: '$context.httpMethod',
  path: '$context.path',
  routeKey: '$context.routeKey',
  status: '$context.status',
  protocol: '$context.protocol',
  responseLength: '$context.responseLength',
  latencyMs: '$context.responseLatency',
  integrationLatencyMs: '$context.integrationLatency',
  integrationStatus: '$context.integrationStatus',
  integrationError: '$context.integrationErrorMessage',
  error: '$context.error.message',
}

/** HTTP API, stage, routes and the access log group. */
export class BrokerHttpApi extends Construct {
  readonly api: apigw.HttpApi
  readonly stage: apigw.HttpStage
  readonly accessLogs: logs.LogGroup
  readonly domain?: apigw.DomainName
  private readonly domainName?: string

  constructor(scope: Construct, id: string, props: BrokerHttpApiProps) {
    super(scope, id)
    if (props.customDomain) this.domainName = props.customDomain.domainName

    this.api = new apigw.HttpApi(this, 'Api', {
      apiName: props.apiName,
      description: 'githosted CI token broker and deploy API',
      // Throttling and access logs live on stages, and the default stage takes
      // neither, so the stage is created explicitly below.
      createDefaultStage: false,
      // With a custom domain, the execute-api URL is switched off: one public
      // entry point, and the domain's TLS policy is the only one. Without a
      // domain it is the API's URL, so the stack works without DNS.
      disableExecuteApiEndpoint: props.customDomain !== undefined,
    })

    this.accessLogs = new logs.LogGroup(this, 'AccessLogs', {
      retention: props.logRetentionDays as logs.RetentionDays,
      removalPolicy: RemovalPolicy.RETAIN,
    })

    if (props.customDomain) {
      this.domain = new apigw.DomainName(this, 'Domain', {
        domainName: props.customDomain.domainName,
        certificate: acm.Certificate.fromCertificateArn(this, 'Certificate', props.customDomain.certificateArn),
      })
      const zone = props.customDomain.hostedZone
      if (zone) {
        const hostedZone = route53.HostedZone.fromHostedZoneAttributes(this, 'Zone', { hostedZoneId: zone.id, zoneName: zone.name })
        const target = route53.RecordTarget.fromAlias(
          new route53Targets.ApiGatewayv2DomainProperties(this.domain.regionalDomainName, this.domain.regionalHostedZoneId),
        )
        new route53.ARecord(this, 'AliasA', { zone: hostedZone, recordName: props.customDomain.domainName, target })
        new route53.AaaaRecord(this, 'AliasAAAA', { zone: hostedZone, recordName: props.customDomain.domainName, target })
      }
    }

    this.stage = new apigw.HttpStage(this, 'DefaultStage', {
      httpApi: this.api,
      stageName: '$default',
      autoDeploy: true,
      throttle: props.throttle,
      detailedMetricsEnabled: true,
      accessLogSettings: {
        destination: new apigw.LogGroupLogDestination(this.accessLogs),
        format: AccessLogFormat.custom(JSON.stringify(ACCESS_LOG_FIELDS)),
      },
      ...(this.domain ? { domainMapping: { domainName: this.domain } } : {}),
    })

    const targets = { token: props.token, deploy: props.deploy, status: props.status }
    const integrations = Object.fromEntries(
      Object.entries(targets).map(([name, fn]) => [name, new HttpLambdaIntegration(`${name}Integration`, fn)]),
    ) as Record<keyof typeof targets, HttpLambdaIntegration>
    for (const route of ROUTES) {
      this.api.addRoutes({ path: route.path, methods: route.methods, integration: integrations[route.target] })
    }
  }

  /** The URL clients should call (custom domain when configured). */
  get url(): string {
    return this.domainName ? `https://${this.domainName}/` : this.stage.url
  }
}
