/**
 * A tiny HTTP server that speaks the part of the Secrets Manager JSON
 * protocol the broker uses (POST / with `X-Amz-Target:
 * secretsmanager.GetSecretValue`, awsJson1_1). The built Lambda bundle
 * carries its own copy of the AWS SDK, which in-process mocks cannot reach;
 * pointing it here via AWS_ENDPOINT_URL_SECRETS_MANAGER tests the real
 * protocol boundary. Signatures are not verified.
 */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface FakeSecretsManager {
  url: string
  /** SecretId -> SecretString; mutate to simulate rotation. */
  secrets: Map<string, string>
  /** Every GetSecretValue call's SecretId, in order. */
  calls: string[]
  /** When set, every call fails with this AWS error type (e.g. 'InternalServiceError'). */
  failWith?: string
  close(): Promise<void>
}

export async function startFakeSecretsManager(initial: Record<string, string> = {}): Promise<FakeSecretsManager> {
  const state = {
    secrets: new Map(Object.entries(initial)),
    calls: [] as string[],
    failWith: undefined as string | undefined,
  }
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const send = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': 'fake-sm' })
        res.end(JSON.stringify(body))
      }
      const target = req.headers['x-amz-target']
      if (req.method !== 'POST' || target !== 'secretsmanager.GetSecretValue') {
        return send(400, { __type: 'UnknownOperationException', message: `unsupported: ${String(target)}` })
      }
      let input: { SecretId?: string }
      try {
        input = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { SecretId?: string }
      } catch {
        return send(400, { __type: 'SerializationException', message: 'bad JSON' })
      }
      const id = input.SecretId ?? ''
      state.calls.push(id)
      if (state.failWith) return send(500, { __type: state.failWith, message: 'injected failure' })
      const value = state.secrets.get(id)
      if (value === undefined) {
        return send(400, {
          __type: 'ResourceNotFoundException',
          message: "Secrets Manager can't find the specified secret.",
        })
      }
      send(200, {
        ARN: id,
        Name: id.split(':').pop(),
        SecretString: value,
        VersionId: 'v1',
        VersionStages: ['AWSCURRENT'],
        CreatedDate: Math.floor(Date.now() / 1000),
      })
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return Object.assign(state, {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections()
        server.close((err) => (err ? reject(err) : resolve()))
      }),
  })
}
