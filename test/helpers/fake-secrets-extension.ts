/**
 * A local stand-in for the AWS Parameters and Secrets Lambda Extension:
 * `GET /secretsmanager/get?secretId=<id>` answered with GetSecretValue's JSON
 * shape, only when the `X-Aws-Parameters-Secrets-Token` header carries the
 * expected session token (400 otherwise, as the extension refuses it). Failures
 * can be injected as an HTTP status with an AWS error name in the body.
 */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface FakeSecretsExtension {
  /** Port to put in PARAMETERS_SECRETS_EXTENSION_HTTP_PORT. */
  port: number
  /** The session token requests must carry (put it in AWS_SESSION_TOKEN). */
  sessionToken: string
  /** SecretId -> SecretString; mutate to simulate rotation. */
  secrets: Map<string, string>
  /** Every accepted request's secretId, in order. */
  calls: string[]
  /** Requests refused for a missing or wrong token header. */
  refused: number
  /** When set, every accepted request fails with this status and AWS error name. */
  failWith?: { status: number; name: string }
  close(): Promise<void>
}

export async function startFakeSecretsExtension(initial: Record<string, string> = {}): Promise<FakeSecretsExtension> {
  const state = {
    sessionToken: `fake-session-${crypto.randomUUID()}`,
    secrets: new Map(Object.entries(initial)),
    calls: [] as string[],
    refused: 0,
    failWith: undefined as { status: number; name: string } | undefined,
  }
  const server = createServer((req, res) => {
    const send = (status: number, body: string, type = 'application/json') => {
      res.writeHead(status, { 'content-type': type })
      res.end(body)
    }
    const url = new URL(req.url ?? '/', 'http://localhost')
    if (req.method !== 'GET' || url.pathname !== '/secretsmanager/get') return send(404, 'not found', 'text/plain')
    if (req.headers['x-aws-parameters-secrets-token'] !== state.sessionToken) {
      state.refused++
      return send(400, 'X-Aws-Parameters-Secrets-Token header is missing or invalid', 'text/plain')
    }
    const id = url.searchParams.get('secretId') ?? ''
    state.calls.push(id)
    // Like the real service, error bodies name the secret: the fetcher must never echo them.
    if (state.failWith) return send(state.failWith.status, `${state.failWith.name}: failed for ${id}`, 'text/plain')
    const value = state.secrets.get(id)
    if (value === undefined) {
      return send(400, `ResourceNotFoundException: Secrets Manager can't find the specified secret ${id}`, 'text/plain')
    }
    send(
      200,
      JSON.stringify({
        ARN: id,
        Name: id.split(':').pop(),
        SecretString: value,
        VersionId: 'v1',
        VersionStages: ['AWSCURRENT'],
        CreatedDate: new Date().toISOString(),
      }),
    )
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return Object.assign(state, {
    port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections()
        server.close((err) => (err ? reject(err) : resolve()))
      }),
  })
}
