import { describe, expect, it } from 'vitest'
import { ContextError, parseConfig, senderAccount } from '../../infra/config.js'
import { synth } from './synth.js'

const valid = { oidcAudience: 'githosted-ci-broker' }
const parse = (ctx: Record<string, unknown>) => parseConfig((k) => ctx[k])
const problemsOf = (ctx: Record<string, unknown>): string => {
  try {
    parse(ctx)
  } catch (err) {
    expect(err).toBeInstanceOf(ContextError)
    return (err as Error).message
  }
  throw new Error('expected a ContextError')
}

describe('parseConfig', () => {
  it('applies defaults for everything but the audience', () => {
    expect(parse(valid)).toEqual({
      stage: 'dev',
      architecture: 'arm64',
      stateTable: true,
      eventSenders: [],
      protect: false,
      tags: {},
      oidcAudience: 'githosted-ci-broker',
      githostedUrl: 'https://api.githosted.dev',
      logLevel: 'info',
      statusRepo: 'deploy-configs',
      secretCacheTtlSeconds: 300,
      secretArns: {},
      ecrRepositories: [],
      throttle: { rateLimit: 20, burstLimit: 40 },
      logRetentionDays: 365,
      sourceMaps: false,
    })
  })

  it('accepts -c strings and cdk.json values alike', () => {
    const config = parse({
      ...valid,
      stateTable: 'false',
      throttleRateLimit: '5',
      throttleBurstLimit: 10,
      ecrRepositories: 'team/api, web',
      reservedConcurrency: '3',
      workspaceTokenSecretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:broker/gw-Ab12Cd',
    })
    expect(config.stateTable).toBe(false)
    expect(config.throttle).toEqual({ rateLimit: 5, burstLimit: 10 })
    expect(config.ecrRepositories).toEqual(['team/api', 'web'])
    expect(config.reservedConcurrency).toBe(3)
    expect(config.secretArns.workspaceToken).toMatch(/-Ab12Cd$/)
  })

  it('names a missing audience and how to set it', () => {
    expect(problemsOf({})).toMatch(/oidcAudience: required .*-c oidcAudience=/)
  })

  it('rejects malformed and partial (name-only) secret ARNs with the context key', () => {
    expect(problemsOf({ ...valid, brokerKeysSecretArn: 'broker-keys' })).toMatch(
      /brokerKeysSecretArn: not a complete Secrets Manager secret ARN/,
    )
    expect(
      problemsOf({ ...valid, dashboardTokenSecretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:dash' }),
    ).toMatch(/dashboardTokenSecretArn: .*describe-secret/)
    expect(problemsOf({ ...valid, viewerCredentialSecretArn: 'arn:aws:s3:::bucket-Ab12Cd' })).toMatch(
      /viewerCredentialSecretArn/,
    )
  })

  it('reports every problem at once', () => {
    const message = problemsOf({
      githostedUrl: 'http://insecure.example',
      alarmEmail: 'not-an-email',
      domainName: 'broker.example.com',
      logRetentionDays: 42,
      throttleRateLimit: 'fast',
      stateTable: 'yes',
      ecrRepositories: ['Bad Name'],
      logLevel: 'trace',
    })
    for (const key of [
      'oidcAudience',
      'githostedUrl',
      'alarmEmail',
      'domainName and certificateArn',
      'logRetentionDays',
      'throttleRateLimit',
      'stateTable',
      'ecrRepositories',
      'logLevel',
    ]) {
      expect(message).toContain(`- ${key}`)
    }
  })

  it('checks the certificate ARN of a custom domain', () => {
    expect(
      problemsOf({ ...valid, domainName: 'broker.example.com', certificateArn: 'arn:aws:acm:eu-west-1:1:cert' }),
    ).toMatch(/certificateArn: not an ACM certificate ARN/)
  })
})

describe('parseConfig: stages, regions, senders', () => {
  it('overrides top-level keys with the stage\'s block and protects non-dev stages', () => {
    const ctx = { ...valid, alarmEmail: 'dev@example.com', stages: { prod: { alarmEmail: 'oncall@example.com', eventSenders: ['111111111111'] } } }
    const dev = parse(ctx)
    expect(dev).toMatchObject({ stage: 'dev', alarmEmail: 'dev@example.com', eventSenders: [], protect: false })
    const prod = parse({ ...ctx, stage: 'prod' })
    expect(prod).toMatchObject({ stage: 'prod', alarmEmail: 'oncall@example.com', eventSenders: ['111111111111'], protect: true })
    expect(parse({ ...ctx, stage: 'prod', terminationProtection: 'false' }).protect).toBe(false)
  })

  it('takes the region from CDK_DEFAULT_REGION unless -c region is given', () => {
    expect(parseConfig((k) => (valid as Record<string, unknown>)[k], { region: 'eu-central-2' }).region).toBe('eu-central-2')
    expect(parseConfig((k) => ({ ...valid, region: 'us-east-1' } as Record<string, unknown>)[k], { region: 'eu-central-2' }).region).toBe('us-east-1')
  })

  it('rejects bad stages, senders, layer ARNs, KMS keys, zones and tags with the key to fix', () => {
    const message = problemsOf({
      ...valid,
      stage: 'Prod_1',
      eventSenders: '12345,arn:aws:s3:::bucket',
      region: 'eu-west-1',
      paramsSecretsLayerArn: 'arn:aws:lambda:us-east-1:123456789012:layer:x:1',
      secretsKmsKeyArn: 'alias/mine',
      hostedZoneId: 'Z123',
      architecture: 'riscv',
      tags: { 'aws:reserved': 'x' },
    })
    for (const needle of [
      '- stage: expected',
      '- eventSenders: not a 12-digit account id or an IAM principal ARN',
      '- paramsSecretsLayerArn: the layer is in us-east-1 but the stack deploys to eu-west-1',
      '- secretsKmsKeyArn: not a KMS key ARN',
      '- hostedZoneId and hostedZoneName: set both',
      '- architecture: expected arm64 or x86_64',
      '- tags.aws:reserved',
    ]) {
      expect(message).toContain(needle)
    }
  })

  it('derives each sender\'s account for the rule filter', () => {
    expect(senderAccount('111111111111')).toBe('111111111111')
    expect(senderAccount('arn:aws:iam::222222222222:role/ci/deployer')).toBe('222222222222')
  })
})

describe('synth with bad context', () => {
  it('fails before creating anything, with the message', () => {
    expect(() => synth({ oidcAudience: '', workspaceTokenSecretArn: 'arn:aws:nope' })).toThrow(
      /invalid CDK context:[\s\S]*oidcAudience: required[\s\S]*workspaceTokenSecretArn: not a complete/,
    )
  })
})
