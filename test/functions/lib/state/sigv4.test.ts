/**
 * The state table's SigV4 signer against aws4, the general signer it
 * replaced: same request, same credentials, same instant → the same headers
 * on the wire and the same Authorization.
 */
import aws4 from 'aws4'
import { describe, expect, it } from 'vitest'
import { amzDate, createSigV4Signer, type SigV4Credentials } from '../../../../functions/lib/state/sigv4.js'

const creds: SigV4Credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' }
const withToken: SigV4Credentials = { ...creds, sessionToken: 'IQoJb3JpZ2luX2VjEXAMPLE//////////wEaCXVzLWVhc3QtMSJGMEQCIAEXAMPLE=' }

function reference(host: string, port: string, target: string, body: string, c: SigV4Credentials, at: Date, region: string) {
  const signed = aws4.sign(
    {
      host,
      ...(port ? { port: Number(port) } : {}),
      path: '/',
      method: 'POST',
      service: 'dynamodb',
      region,
      headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': target, 'X-Amz-Date': amzDate(at) },
      body,
    },
    c,
  )
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(signed.headers as Record<string, unknown>)) out[k.toLowerCase()] = String(v)
  return out
}

const cases = [
  { name: 'AWS endpoint, no session token', host: 'dynamodb.eu-west-1.amazonaws.com', port: '', c: creds, region: 'eu-west-1' },
  { name: 'AWS endpoint, Lambda role credentials (session token)', host: 'dynamodb.us-east-1.amazonaws.com', port: '', c: withToken, region: 'us-east-1' },
  { name: 'local endpoint with a port', host: '127.0.0.1', port: '45123', c: creds, region: 'local-1' },
]

describe('SigV4 signer for the state table', () => {
  for (const k of cases) {
    it(`signs like aws4: ${k.name}`, () => {
      const signer = createSigV4Signer({ region: k.region, service: 'dynamodb' })
      for (const [at, body] of [
        [new Date('2015-08-30T12:36:00Z'), '{}'],
        [new Date('2026-12-02T23:59:59.999Z'), JSON.stringify({ TableName: 't', Key: { pk: { S: 'rate#token#é ü  two  spaces' } } })],
        // The next day: a new signing key.
        [new Date('2026-12-03T00:00:00.001Z'), JSON.stringify({ TableName: 't', Item: { pk: { S: 'replay#x' }, n: { N: '1' } } })],
      ] as const) {
        const ours = createSigV4Signer({ region: k.region, service: 'dynamodb' }).sign(
          { host: k.port ? `${k.host}:${k.port}` : k.host, headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': 'DynamoDB_20120810.PutItem' }, body: Buffer.from(body) },
          k.c,
          at,
        )
        const cachedKey = signer.sign(
          { host: k.port ? `${k.host}:${k.port}` : k.host, headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': 'DynamoDB_20120810.PutItem' }, body: Buffer.from(body) },
          k.c,
          at,
        )
        expect(ours).toEqual(reference(k.host, k.port, 'DynamoDB_20120810.PutItem', body, k.c, at, k.region))
        expect(cachedKey).toEqual(ours)
      }
    })
  }

  it('uses a new signing key when the secret changes', () => {
    const signer = createSigV4Signer({ region: 'us-east-1', service: 'dynamodb' })
    const at = new Date('2026-01-01T00:00:00Z')
    const req = { host: 'dynamodb.us-east-1.amazonaws.com', headers: { 'x-amz-target': 'DynamoDB_20120810.GetItem' }, body: Buffer.from('{}') }
    const a = signer.sign(req, creds, at)
    const b = signer.sign(req, { ...creds, secretAccessKey: 'another' }, at)
    expect(a.authorization).not.toEqual(b.authorization)
    expect(signer.sign(req, creds, at)).toEqual(a)
  })

  it('formats x-amz-date as SigV4 basic ISO 8601', () => {
    expect(amzDate(new Date('2015-08-30T12:36:00.123Z'))).toBe('20150830T123600Z')
  })
})
