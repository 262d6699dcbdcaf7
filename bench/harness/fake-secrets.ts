/**
 * A local HTTP server speaking Secrets Manager's GetSecretValue (AWS JSON 1.1
 * protocol), reached by the SDK through AWS_ENDPOINT_URL_SECRETS_MANAGER, and
 * the AWS Parameters and Secrets Lambda Extension's local API (`GET
 * /secretsmanager/get?secretId=` with the session-token header), reached by
 * SECRETS_SOURCE=extension through PARAMETERS_SECRETS_EXTENSION_HTTP_PORT.
 * It counts calls per secret, whichever way they come: the server side of
 * "exactly one secret fetch per cache period", independent of any
 * instrumentation in the function.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface FakeSecrets {
  url: string
  /** GetSecretValue calls per SecretId since start (or reset). */
  calls: Map<string, number>
  total(): number
  reset(): void
  /** The env a Lambda needs to reach this server with dummy credentials. */
  env(): Record<string, string>
  /** The env that makes a Lambda read secrets here as from the extension (SECRETS_SOURCE=extension). */
  extensionEnv(): Record<string, string>
  close(): Promise<void>
}

export async function startFakeSecrets(secrets: Record<string, string>): Promise<FakeSecrets> {
  const calls = new Map<string, number>()
  const sessionToken = `bench-session-${crypto.randomUUID()}`
  const server: Server = createServer((req, res) => {
    if (req.method === 'GET' && req.url?.startsWith('/secretsmanager/get?')) {
      extensionGet(req, res)
      return
    }
    let body = ''
    req.on('data', (d: Buffer) => (body += d.toString()))
    req.on('end', () => {
      const target = String(req.headers['x-amz-target'] ?? '')
      const reply = (status: number, payload: unknown) => {
        res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' })
        res.end(JSON.stringify(payload))
      }
      if (target !== 'secretsmanager.GetSecretValue') {
        reply(400, { __type: 'UnknownOperationException', message: `unsupported: ${target}` })
        return
      }
      let id = ''
      try {
        id = String((JSON.parse(body) as { SecretId?: unknown }).SecretId ?? '')
      } catch {
        reply(400, { __type: 'SerializationException', message: 'bad JSON' })
        return
      }
      calls.set(id, (calls.get(id) ?? 0) + 1)
      const value = secrets[id]
      if (value === undefined) {
        reply(400, { __type: 'ResourceNotFoundException', message: 'Secrets Manager can\'t find the specified secret.' })
        return
      }
      reply(200, {
        ARN: id,
        Name: id.split(':').at(-1),
        SecretString: value,
        VersionId: '00000000-0000-0000-0000-000000000001',
        VersionStages: ['AWSCURRENT'],
        CreatedDate: 1_700_000_000,
      })
    })
  })
  // The extension's answer: GetSecretValue's JSON on 200, the AWS error as text otherwise.
  function extensionGet(req: IncomingMessage, res: ServerResponse) {
    if (req.headers['x-aws-parameters-secrets-token'] !== sessionToken) {
      res.writeHead(400, { 'content-type': 'text/plain' })
      res.end('missing or invalid X-Aws-Parameters-Secrets-Token')
      return
    }
    const id = new URL(req.url ?? '/', 'http://localhost').searchParams.get('secretId') ?? ''
    calls.set(id, (calls.get(id) ?? 0) + 1)
    const value = secrets[id]
    if (value === undefined) {
      res.writeHead(400, { 'content-type': 'text/plain' })
      res.end("ResourceNotFoundException: Secrets Manager can't find the specified secret.")
      return
    }
    res.writeHead(200, { 'content-type': 'application/json' })
    res.end(
      JSON.stringify({
        ARN: id,
        Name: id.split(':').at(-1),
        SecretString: value,
        VersionId: '00000000-0000-0000-0000-000000000001',
        VersionStages: ['AWSCURRENT'],
        CreatedDate: '2023-11-14T22:13:20Z',
      }),
    )
  }

  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const port = (server.address() as AddressInfo).port
  const url = `http://127.0.0.1:${port}`
  return {
    url,
    calls,
    total: () => [...calls.values()].reduce((a, b) => a + b, 0),
    reset: () => calls.clear(),
    env: () => ({
      AWS_ENDPOINT_URL_SECRETS_MANAGER: url,
      AWS_ACCESS_KEY_ID: 'AKIABENCHBENCHBENCH0',
      AWS_SECRET_ACCESS_KEY: 'bench-not-a-secret',
      AWS_REGION: 'us-east-1',
    }),
    extensionEnv: () => ({
      SECRETS_SOURCE: 'extension',
      AWS_SESSION_TOKEN: sessionToken,
      PARAMETERS_SECRETS_EXTENSION_HTTP_PORT: String(port),
    }),
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections()
        server.close(() => r())
      }),
  }
}

/** A Secrets Manager ARN for a bench secret. */
export const secretArn = (name: string) => `arn:aws:secretsmanager:us-east-1:123456789012:secret:${name}`
