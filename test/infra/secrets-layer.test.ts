import { describe, expect, it } from 'vitest'
import { resolveSecretsSource } from '../../infra/secrets-layer.js'

describe('resolveSecretsSource', () => {
  it('takes the layer of the region and architecture from CDK\'s region table', () => {
    expect(resolveSecretsSource({ region: 'eu-west-1', architecture: 'arm64' })).toEqual({
      kind: 'extension',
      origin: 'region-table',
      layerArn: expect.stringMatching(/^arn:aws:lambda:eu-west-1:\d{12}:layer:AWS-Parameters-and-Secrets-Lambda-Extension-Arm64:\d+$/),
    })
    // ap-northeast-3 has an x86_64 layer but no arm64 one.
    expect(resolveSecretsSource({ region: 'ap-northeast-3', architecture: 'x86_64' })).toMatchObject({ kind: 'extension' })
    expect(resolveSecretsSource({ region: 'ap-northeast-3', architecture: 'arm64' })).toMatchObject({ kind: 'sdk', why: expect.stringContaining('no arm64') })
    expect(resolveSecretsSource({ region: 'cn-north-1', architecture: 'x86_64' })).toMatchObject({ layerArn: expect.stringMatching(/^arn:aws-cn:lambda:cn-north-1:/) })
  })

  it('falls back to the SDK where there is no layer or no known region, and says why', () => {
    expect(resolveSecretsSource({ region: 'ap-southeast-5', architecture: 'arm64' })).toMatchObject({ kind: 'sdk', why: expect.stringContaining('paramsSecretsLayerArn') })
    expect(resolveSecretsSource({ architecture: 'arm64' })).toMatchObject({ kind: 'sdk', why: expect.stringContaining('-c region=') })
  })

  it('uses an explicit layer ARN as given, in any region', () => {
    const override = 'arn:aws:lambda:ap-southeast-5:123456789012:layer:params-secrets:3'
    expect(resolveSecretsSource({ region: 'ap-southeast-5', architecture: 'arm64', override })).toEqual({ kind: 'extension', layerArn: override, origin: 'override' })
  })
})
