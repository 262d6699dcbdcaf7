/**
 * Works the events dead-letter queue (runbook: docs/dlq.md).
 *
 *   npm run dlq -- list   [--max N]
 *   npm run dlq -- replay <messageId ...> | --all
 *   npm run dlq -- drop   <messageId ...> | --all
 *
 *   --queue-url URL   (or DLQ_URL)              the stack output DeadLetterQueueUrl
 *   --function NAME   (or EVENTS_FUNCTION_NAME) the stack output EventsFunctionName (replay only)
 *   --region REGION   (or AWS_REGION)
 *
 * The queue holds two kinds of message (AWS writes both; see parseDlqMessage):
 * events EventBridge could not deliver, and events the function failed on
 * after Lambda's retries. Either way the original event is recovered and
 * `replay` invokes the events function with it, synchronously, prints the
 * outcome, and deletes the message only when the function succeeded. ECR
 * events cannot be re-sent with PutEvents (source aws.* is reserved), which
 * is why replay invokes the function directly; the function's idempotency
 * (event id) makes a replay of an already-applied event a no-op.
 */
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda'
import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  type Message,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs'
import { resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const USAGE = [
  'usage: npm run dlq -- list [--max N]',
  '       npm run dlq -- replay <messageId ...> | --all',
  '       npm run dlq -- drop <messageId ...> | --all',
  'options: --queue-url URL (or DLQ_URL), --function NAME (or EVENTS_FUNCTION_NAME, replay only), --region REGION',
].join('\n')

/** How long a message stays hidden while this tool works on it. */
const HOLD_SECONDS = 120

/** One dead-lettered event, whichever path put it in the queue. */
export interface DlqEntry {
  messageId: string
  receiptHandle: string
  /** `delivery`: EventBridge could not invoke the function; `function`: the function failed after its retries. */
  kind: 'delivery' | 'function'
  /** The original EventBridge event. */
  event: Record<string, unknown>
  /** Why it is here, as AWS recorded it. */
  error: string
  /** When it first failed (ISO), when known. */
  failedAt?: string
  /** The rule (delivery failures) or the function (function failures). */
  origin?: string
}

/** A message that is not one of the two documented shapes: reported, never replayed or dropped by --all. */
export interface UnreadableMessage {
  messageId: string
  receiptHandle: string
  problem: string
}

/**
 * Normalizes the two shapes AWS writes into the queue:
 *  1. EventBridge target DLQ: the body IS the event; message attributes
 *     ERROR_CODE, ERROR_MESSAGE, RULE_ARN, TARGET_ARN say why.
 *  2. Lambda on-failure destination: the body is an invocation record
 *     { version, timestamp, requestContext: { functionArn, condition, approximateInvokeCount },
 *       requestPayload: <the event>, responsePayload: { errorMessage, ... } }.
 */
export function parseDlqMessage(message: Message): DlqEntry | UnreadableMessage {
  const messageId = message.MessageId ?? ''
  const receiptHandle = message.ReceiptHandle ?? ''
  let body: unknown
  try {
    body = JSON.parse(message.Body ?? '')
  } catch {
    return { messageId, receiptHandle, problem: 'body is not JSON' }
  }
  if (!isObject(body)) return { messageId, receiptHandle, problem: 'body is not a JSON object' }

  if (isObject(body.requestContext) && 'requestPayload' in body) {
    const event = body.requestPayload
    if (!isEvent(event)) return { messageId, receiptHandle, problem: 'Lambda failure record without an EventBridge event as requestPayload' }
    const ctx = body.requestContext
    const response = isObject(body.responsePayload) ? body.responsePayload : {}
    const reason = [ctx.condition, response.errorType, response.errorMessage].filter((v) => typeof v === 'string' && v).join(': ')
    return {
      messageId,
      receiptHandle,
      kind: 'function',
      event,
      error: reason || 'function failed',
      ...(typeof body.timestamp === 'string' ? { failedAt: body.timestamp } : {}),
      ...(typeof ctx.functionArn === 'string' ? { origin: ctx.functionArn } : {}),
    }
  }
  if (isEvent(body)) {
    const attr = (name: string) => message.MessageAttributes?.[name]?.StringValue
    const reason = [attr('ERROR_CODE'), attr('ERROR_MESSAGE')].filter(Boolean).join(': ')
    const sent = message.Attributes?.SentTimestamp
    return {
      messageId,
      receiptHandle,
      kind: 'delivery',
      event: body,
      error: reason || 'EventBridge could not deliver the event',
      ...(sent && /^\d+$/.test(sent) ? { failedAt: new Date(Number(sent)).toISOString() } : {}),
      ...(attr('RULE_ARN') ? { origin: attr('RULE_ARN') } : {}),
    }
  }
  return { messageId, receiptHandle, problem: 'neither an EventBridge event nor a Lambda failure record' }
}

export interface DlqClients {
  sqs: Pick<SQSClient, 'send'>
  lambda: Pick<LambdaClient, 'send'>
}

export interface CliIo {
  out(line: string): void
  err(line: string): void
}

interface Options {
  command: 'list' | 'replay' | 'drop'
  ids: string[]
  all: boolean
  max: number
  queueUrl?: string
  functionName?: string
  region?: string
}

class UsageError extends Error {}

function parseArgs(argv: string[], env: NodeJS.ProcessEnv): Options {
  const [command, ...rest] = argv
  if (command !== 'list' && command !== 'replay' && command !== 'drop') throw new UsageError(command ? `unknown command ${JSON.stringify(command)}` : 'a command is required')
  const o: Options = { command, ids: [], all: false, max: 100 }
  if (env.DLQ_URL) o.queueUrl = env.DLQ_URL
  if (env.EVENTS_FUNCTION_NAME) o.functionName = env.EVENTS_FUNCTION_NAME
  if (env.AWS_REGION) o.region = env.AWS_REGION
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i]!
    const value = () => {
      const v = rest[++i]
      if (v === undefined || v.startsWith('--')) throw new UsageError(`${arg} needs a value`)
      return v
    }
    if (arg === '--all') o.all = true
    else if (arg === '--queue-url') o.queueUrl = value()
    else if (arg === '--function') o.functionName = value()
    else if (arg === '--region') o.region = value()
    else if (arg === '--max') {
      const n = Number(value())
      if (!Number.isInteger(n) || n < 1 || n > 10000) throw new UsageError('--max must be an integer from 1 to 10000')
      o.max = n
    } else if (arg.startsWith('--')) throw new UsageError(`unknown option ${arg}`)
    else o.ids.push(arg)
  }
  if (!o.queueUrl) throw new UsageError('the queue URL is required: --queue-url or DLQ_URL (stack output DeadLetterQueueUrl)')
  if (o.command === 'list' && (o.ids.length > 0 || o.all)) throw new UsageError('list takes no message ids')
  if (o.command !== 'list' && o.ids.length === 0 && !o.all) throw new UsageError(`${o.command} needs message ids or --all`)
  if (o.command !== 'list' && o.ids.length > 0 && o.all) throw new UsageError('give message ids or --all, not both')
  if (o.command === 'replay' && !o.functionName) {
    throw new UsageError('replay needs the events function: --function or EVENTS_FUNCTION_NAME (stack output EventsFunctionName)')
  }
  return o
}

/**
 * Receives up to `max` distinct messages, hiding each for `visibility`
 * seconds (0 for list: nothing is held, so repeated receives may return the
 * same message; it is counted once).
 */
async function receiveAll(sqs: DlqClients['sqs'], queueUrl: string, max: number, visibility: number): Promise<Message[]> {
  const seen = new Map<string, Message>()
  for (let round = 0; seen.size < max && round < Math.ceil(max / 10) + 5; round++) {
    const r = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: Math.min(10, max - seen.size),
        VisibilityTimeout: visibility,
        WaitTimeSeconds: 0,
        MessageAttributeNames: ['All'],
        MessageSystemAttributeNames: ['SentTimestamp', 'ApproximateReceiveCount'],
      }),
    )
    const batch = r.Messages ?? []
    const fresh = batch.filter((m) => m.MessageId && !seen.has(m.MessageId))
    for (const m of fresh) seen.set(m.MessageId!, m)
    if (batch.length === 0 || fresh.length === 0) break
  }
  return [...seen.values()]
}

function summary(e: DlqEntry | UnreadableMessage): Record<string, unknown> {
  if ('problem' in e) return { messageId: e.messageId, unreadable: e.problem }
  return {
    messageId: e.messageId,
    kind: e.kind,
    eventId: e.event.id,
    source: e.event.source,
    detailType: e.event['detail-type'],
    account: e.event.account,
    failedAt: e.failedAt,
    error: e.error,
    origin: e.origin,
  }
}

/** Runs the command; returns the exit code (0 all done, 1 some replays failed or ids not found, 2 usage). */
export async function runDlqCli(argv: string[], io: CliIo, clients?: DlqClients, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let o: Options
  try {
    o = parseArgs(argv, env)
  } catch (err) {
    if (!(err instanceof UsageError)) throw err
    io.err(`error: ${err.message}\n${USAGE}`)
    return 2
  }
  const c = clients ?? {
    sqs: new SQSClient(o.region ? { region: o.region } : {}),
    lambda: new LambdaClient(o.region ? { region: o.region } : {}),
  }
  const queueUrl = o.queueUrl!

  if (o.command === 'list') {
    const messages = await receiveAll(c.sqs, queueUrl, o.max, 0)
    for (const m of messages) io.out(JSON.stringify(summary(parseDlqMessage(m))))
    io.err(`${messages.length} message(s)${messages.length === o.max ? ` (stopped at --max ${o.max})` : ''}`)
    return 0
  }

  const held = await receiveAll(c.sqs, queueUrl, o.all ? o.max : 10000, HOLD_SECONDS)
  const wanted = o.all ? held : held.filter((m) => o.ids.includes(m.MessageId ?? ''))
  // Give back what was received but not asked for, so other operators see it at once.
  for (const m of held.filter((x) => !wanted.includes(x))) await release(c.sqs, queueUrl, m)
  let failures = 0
  for (const id of o.ids.filter((i) => !wanted.some((m) => m.MessageId === i))) {
    io.err(`error: message ${id} not found (already handled, or held by another reader; retry in ${HOLD_SECONDS} s)`)
    failures++
  }

  for (const m of wanted) {
    const entry = parseDlqMessage(m)
    if ('problem' in entry) {
      // --all never drops or replays what it cannot read; by id, drop is the operator's call.
      if (o.command === 'drop' && !o.all) {
        await c.sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: entry.receiptHandle }))
        io.out(JSON.stringify({ messageId: entry.messageId, dropped: true, unreadable: entry.problem }))
      } else {
        await release(c.sqs, queueUrl, m)
        io.out(JSON.stringify({ messageId: entry.messageId, skipped: true, unreadable: entry.problem }))
        failures++
      }
      continue
    }
    if (o.command === 'drop') {
      await c.sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: entry.receiptHandle }))
      io.out(JSON.stringify({ ...summary(entry), dropped: true }))
      continue
    }
    const outcome = await replay(c.lambda, o.functionName!, entry.event)
    if (outcome.ok) {
      await c.sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: entry.receiptHandle }))
    } else {
      await release(c.sqs, queueUrl, m)
      failures++
    }
    io.out(JSON.stringify({ messageId: entry.messageId, eventId: entry.event.id, replayed: outcome.ok, result: outcome.result, ...(outcome.ok ? { deleted: true } : { kept: true }) }))
  }
  io.err(`${o.command}: ${wanted.length} message(s), ${failures} problem(s)`)
  return failures > 0 ? 1 : 0
}

async function release(sqs: DlqClients['sqs'], queueUrl: string, m: Message): Promise<void> {
  await sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: queueUrl, ReceiptHandle: m.ReceiptHandle!, VisibilityTimeout: 0 }))
}

/** Invokes the events function with the event, as EventBridge would, but synchronously so the outcome is known. */
async function replay(lambda: DlqClients['lambda'], functionName: string, event: Record<string, unknown>): Promise<{ ok: boolean; result: unknown }> {
  const r = await lambda.send(
    new InvokeCommand({ FunctionName: functionName, InvocationType: 'RequestResponse', Payload: new TextEncoder().encode(JSON.stringify(event)) }),
  )
  const text = r.Payload ? new TextDecoder().decode(r.Payload) : ''
  let result: unknown = text
  try {
    result = text ? JSON.parse(text) : null
  } catch {
    // Not JSON: report the text as is.
  }
  return { ok: !r.FunctionError && (r.StatusCode ?? 0) < 300, result: r.FunctionError ? { functionError: r.FunctionError, response: result } : result }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function isEvent(v: unknown): v is Record<string, unknown> {
  return isObject(v) && typeof v.id === 'string' && typeof v.source === 'string' && typeof v['detail-type'] === 'string' && 'detail' in v
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  runDlqCli(process.argv.slice(2), { out: (l) => console.log(l), err: (l) => console.error(l) }).then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(`error: ${err instanceof Error ? err.message : String(err)}`)
      process.exit(1)
    },
  )
}
