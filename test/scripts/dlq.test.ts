/**
 * scripts/dlq.ts against SQS and Lambda mocked at the SDK boundary
 * (aws-sdk-client-mock); the message bodies are the shapes AWS writes.
 */
import { beforeEach, describe, expect, it } from 'vitest'
import { InvokeCommand, type InvokeCommandOutput, LambdaClient } from '@aws-sdk/client-lambda'
import { ChangeMessageVisibilityCommand, DeleteMessageCommand, type Message, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs'
import { mockClient } from 'aws-sdk-client-mock'
import { parseDlqMessage, runDlqCli } from '../../scripts/dlq.js'

const QUEUE = 'https://sqs.eu-west-1.amazonaws.com/123456789012/githosted-ci-broker-prod-events-dlq'
const FN = 'githosted-ci-broker-prod-events'

const deployRequest = {
  version: '0',
  id: '6a7e8feb-b491-4cf7-a9f1-bf3703467718',
  'detail-type': 'Deploy Requested',
  source: 'githosted-ci-broker',
  account: '111111111111',
  time: '2026-12-01T10:00:00Z',
  region: 'eu-west-1',
  resources: [],
  detail: { repo: 'deploy-configs', environment: 'staging', image: 'registry.example/app:v1.2.3', requestedBy: 'release-pipeline' },
}
const ecrPush = {
  version: '0',
  id: '13cde686-328b-6117-af20-0e5566167482',
  'detail-type': 'ECR Image Action',
  source: 'aws.ecr',
  account: '123456789012',
  time: '2026-12-01T10:05:00Z',
  region: 'eu-west-1',
  resources: [],
  detail: { result: 'SUCCESS', 'repository-name': 'acme/app', 'image-digest': `sha256:${'a'.repeat(64)}`, 'action-type': 'PUSH', 'image-tag': 'v1.2.3' },
}

/** What EventBridge writes when it cannot deliver: the event itself, the reason in attributes. */
const deliveryFailure: Message = {
  MessageId: 'm-delivery',
  ReceiptHandle: 'rh-delivery',
  Body: JSON.stringify(deployRequest),
  Attributes: { SentTimestamp: '1764583200000' },
  MessageAttributes: {
    ERROR_CODE: { DataType: 'String', StringValue: 'SDK_CLIENT_ERROR' },
    ERROR_MESSAGE: { DataType: 'String', StringValue: 'Lambda function is throttled' },
    RULE_ARN: { DataType: 'String', StringValue: 'arn:aws:events:eu-west-1:123456789012:rule/x/DeployRequestRule' },
  },
}
/** What Lambda's on-failure destination writes after the retries. */
const functionFailure: Message = {
  MessageId: 'm-function',
  ReceiptHandle: 'rh-function',
  Body: JSON.stringify({
    version: '1.0',
    timestamp: '2026-12-01T10:07:00.000Z',
    requestContext: { requestId: 'r-1', functionArn: `arn:aws:lambda:eu-west-1:123456789012:function:${FN}:$LATEST`, condition: 'RetriesExhausted', approximateInvokeCount: 3 },
    requestPayload: ecrPush,
    responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
    responsePayload: { errorType: 'Error', errorMessage: 'event 13cde686: 1 of 1 target(s) failed; first: githosted unavailable' },
  }),
}
const garbage: Message = { MessageId: 'm-garbage', ReceiptHandle: 'rh-garbage', Body: 'not json' }

/** The raw bytes Lambda returns (the SDK wraps them in a blob adapter; the script only decodes them). */
const payload = (text: string) => new TextEncoder().encode(text) as unknown as InvokeCommandOutput['Payload']

const sqs = mockClient(SQSClient)
const lambda = mockClient(LambdaClient)

function io() {
  const out: string[] = []
  const err: string[] = []
  return { io: { out: (l: string) => out.push(l), err: (l: string) => err.push(l) }, out, err, json: () => out.map((l) => JSON.parse(l)) }
}

const run = (argv: string[], o = io()) =>
  runDlqCli([...argv, '--queue-url', QUEUE], o.io, { sqs: new SQSClient({ region: 'eu-west-1' }), lambda: new LambdaClient({ region: 'eu-west-1' }) }, { EVENTS_FUNCTION_NAME: FN })

beforeEach(() => {
  sqs.reset()
  lambda.reset()
  sqs.on(ReceiveMessageCommand).resolvesOnce({ Messages: [deliveryFailure, functionFailure, garbage] }).resolves({ Messages: [] })
  sqs.on(DeleteMessageCommand).resolves({})
  sqs.on(ChangeMessageVisibilityCommand).resolves({})
})

describe('parseDlqMessage', () => {
  it('recovers the original event and the reason from both shapes AWS writes', () => {
    expect(parseDlqMessage(deliveryFailure)).toMatchObject({
      kind: 'delivery',
      event: deployRequest,
      error: 'SDK_CLIENT_ERROR: Lambda function is throttled',
      origin: expect.stringContaining('DeployRequestRule'),
      failedAt: '2025-12-01T10:00:00.000Z',
    })
    expect(parseDlqMessage(functionFailure)).toMatchObject({
      kind: 'function',
      event: ecrPush,
      error: expect.stringMatching(/^RetriesExhausted: Error: event 13cde686/),
      failedAt: '2026-12-01T10:07:00.000Z',
    })
    expect(parseDlqMessage(garbage)).toEqual({ messageId: 'm-garbage', receiptHandle: 'rh-garbage', problem: 'body is not JSON' })
    expect(parseDlqMessage({ MessageId: 'x', Body: '{"requestContext":{},"requestPayload":{"a":1}}' })).toMatchObject({ problem: expect.stringContaining('requestPayload') })
  })
})

describe('npm run dlq', () => {
  it('list: one line per message, nothing held or deleted', async () => {
    const o = io()
    expect(await run(['list'], o)).toBe(0)
    expect(o.json()).toEqual([
      expect.objectContaining({ messageId: 'm-delivery', kind: 'delivery', eventId: deployRequest.id, source: 'githosted-ci-broker', account: '111111111111' }),
      expect.objectContaining({ messageId: 'm-function', kind: 'function', eventId: ecrPush.id, source: 'aws.ecr' }),
      { messageId: 'm-garbage', unreadable: 'body is not JSON' },
    ])
    expect(sqs.commandCalls(ReceiveMessageCommand)[0]!.args[0].input.VisibilityTimeout).toBe(0)
    expect(sqs.commandCalls(DeleteMessageCommand)).toHaveLength(0)
  })

  it('replay: invokes the events function with the original event, deletes on success, keeps and releases on failure', async () => {
    lambda
      .on(InvokeCommand)
      .resolvesOnce({ StatusCode: 200, Payload: payload(JSON.stringify({ eventId: deployRequest.id, status: 'processed', targets: [] })) })
      .resolvesOnce({ StatusCode: 200, FunctionError: 'Unhandled', Payload: payload('{"errorMessage":"githosted unavailable"}') })
    const o = io()
    expect(await run(['replay', 'm-delivery', 'm-function'], o)).toBe(1)
    const invokes = lambda.commandCalls(InvokeCommand).map((c) => c.args[0].input)
    expect(invokes.map((i) => [i.FunctionName, i.InvocationType])).toEqual([[FN, 'RequestResponse'], [FN, 'RequestResponse']])
    expect(JSON.parse(new TextDecoder().decode(invokes[0]!.Payload as Uint8Array))).toEqual(deployRequest)
    expect(JSON.parse(new TextDecoder().decode(invokes[1]!.Payload as Uint8Array))).toEqual(ecrPush)
    expect(sqs.commandCalls(DeleteMessageCommand).map((c) => c.args[0].input.ReceiptHandle)).toEqual(['rh-delivery'])
    // The failed one and the one not asked for are visible again at once.
    expect(sqs.commandCalls(ChangeMessageVisibilityCommand).map((c) => [c.args[0].input.ReceiptHandle, c.args[0].input.VisibilityTimeout]).sort()).toEqual([
      ['rh-function', 0],
      ['rh-garbage', 0],
    ])
    expect(o.json()).toEqual([
      expect.objectContaining({ messageId: 'm-delivery', replayed: true, deleted: true, result: expect.objectContaining({ status: 'processed' }) }),
      expect.objectContaining({ messageId: 'm-function', replayed: false, kept: true, result: { functionError: 'Unhandled', response: { errorMessage: 'githosted unavailable' } } }),
    ])
  })

  it('drop --all: deletes what it can read and leaves the unreadable message for a human', async () => {
    const o = io()
    expect(await run(['drop', '--all'], o)).toBe(1)
    expect(sqs.commandCalls(DeleteMessageCommand).map((c) => c.args[0].input.ReceiptHandle).sort()).toEqual(['rh-delivery', 'rh-function'])
    expect(o.json()).toContainEqual({ messageId: 'm-garbage', skipped: true, unreadable: 'body is not JSON' })
  })

  it('names a message id it cannot find, and does nothing to the others', async () => {
    const o = io()
    expect(await run(['drop', 'm-missing'], o)).toBe(1)
    expect(o.err.join('\n')).toMatch(/message m-missing not found/)
    expect(sqs.commandCalls(DeleteMessageCommand)).toHaveLength(0)
    expect(sqs.commandCalls(ChangeMessageVisibilityCommand)).toHaveLength(3)
  })

  it('explains bad usage without touching AWS', async () => {
    const o = io()
    expect(await runDlqCli(['replay', '--all'], o.io, undefined, {})).toBe(2)
    expect(o.err.join('\n')).toMatch(/queue URL is required.*DeadLetterQueueUrl/)
    const p = io()
    expect(await runDlqCli(['replay', '--all', '--queue-url', QUEUE], p.io, undefined, {})).toBe(2)
    expect(p.err.join('\n')).toMatch(/EVENTS_FUNCTION_NAME/)
    const q = io()
    expect(await runDlqCli(['purge'], q.io, undefined, {})).toBe(2)
    expect(sqs.calls()).toHaveLength(0)
  })
})
