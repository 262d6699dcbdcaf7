import { describe, expect, it } from 'vitest'
import * as sqs from 'aws-cdk-lib/aws-sqs'
import { ACKNOWLEDGED } from '../../infra/nag.js'
import { synth } from './synth.js'

describe('cdk-nag AwsSolutions at synth', () => {
  it('fails synth on a finding nobody acknowledged', () => {
    // A queue without TLS enforcement or a DLQ: two AwsSolutions errors.
    expect(() => synth({}, { before: ({ stack }) => void new sqs.Queue(stack, 'Unchecked') })).toThrow(
      /AwsSolutions-SQS3[\s\S]*Unchecked/,
    )
  })

  it('gives every acknowledged rule a reason a reviewer can check', () => {
    for (const [rule, reason] of Object.entries(ACKNOWLEDGED)) {
      expect(rule).toMatch(/^(AwsSolutions-[A-Z]+\d+(\[[^\]]+\])?|Serverless-[A-Za-z]+)$/)
      expect(reason.length, rule).toBeGreaterThan(100)
    }
  })
})
