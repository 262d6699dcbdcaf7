import { describe, expect, it } from 'vitest'
import { ContextError, parseConfig } from '../../infra/config.js'
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
      oidcAudience: 'githosted-ci-broker',
      githostedUrl: 'https://api.githosted.dev',
      logLevel: 'info',
      statusRepo: 'deploy-configs',
      secretCacheTtlSeconds: 300,
      secretArns: {},
      ecrRepositories: [],
      replayTable: false,
      throttle: { rateLimit: 20, burstLimit: 40 },
      logRetentionDays: 30,
      sourceMaps: false,
    })
  })

  it('accepts -c strings and cdk.json values alike', () => {
    const config = parse({
      ...valid,
      replayTable: 'true',
      throttleRateLimit: '5',
      throttleBurstLimit: 10,
      ecrRepositories: 'team/api, web',
      reservedConcurrency: '3',
      workspaceTokenSecretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:broker/gw-Ab12Cd',
    })
    expect(config.replayTable).toBe(true)
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
      replayTable: 'yes',
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
      'replayTable',
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

describe('synth with bad context', () => {
  it('fails before creating anything, with the message', () => {
    expect(() => synth({ oidcAudience: '', workspaceTokenSecretArn: 'arn:aws:nope' })).toThrow(
      /invalid CDK context:[\s\S]*oidcAudience: required[\s\S]*workspaceTokenSecretArn: not a complete/,
    )
  })
})
