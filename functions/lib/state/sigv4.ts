/**
 * AWS Signature Version 4 for the one request shape the state table client
 * sends: a POST to `/` with no query string, a JSON body and a few headers.
 * A general signer (aws4 before this) carries code for every other shape
 * (path normalization and encoding, query parsing, header filtering, its own
 * key cache): bytes in every bundle and code to load and compile on a cold
 * start, though a warm signature costs the same either way (the node:crypto
 * calls dominate: 9–13 µs here for either, bench/micro.ts). Here the
 * canonical request is a handful of string joins and three node:crypto
 * calls (the body hash, the canonical request hash, the signature); the
 * derived signing key is cached per secret, day, region and service, as
 * every signer does. The tests check that it signs exactly as aws4 does.
 */
import { createHash, createHmac } from 'node:crypto'

export interface SigV4Credentials {
  accessKeyId: string
  secretAccessKey: string
  sessionToken?: string
}

export interface SigV4Request {
  /** The Host header as sent: `host` or `host:port`. */
  host: string
  /** Extra headers to sign and send, names in lower case (content-type, x-amz-target, …). */
  headers: Readonly<Record<string, string>>
  body: Uint8Array
}

export interface SigV4Signer {
  /** Every header to send: the request's own plus host, content-length, x-amz-date, the session token and authorization. */
  sign(request: SigV4Request, credentials: SigV4Credentials, now?: Date): Record<string, string>
}

const ALGORITHM = 'AWS4-HMAC-SHA256'

/** `20150830T123600Z` from a Date (SigV4's basic ISO 8601 form). */
export function amzDate(d: Date): string {
  const iso = d.toISOString()
  return `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`
}

const sha256Hex = (data: string | Uint8Array) => createHash('sha256').update(data).digest('hex')
const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data).digest()

/** Header values are signed trimmed, with inner runs of whitespace as one space (SigV4's canonical form). */
const canonicalValue = (v: string) => v.trim().replace(/\s+/g, ' ')

export function createSigV4Signer(options: { region: string; service: string }): SigV4Signer {
  const { region, service } = options
  let cached: { secret: string; day: string; key: Buffer } | undefined

  const signingKey = (secret: string, day: string): Buffer => {
    if (cached?.secret === secret && cached.day === day) return cached.key
    const key = hmac(hmac(hmac(hmac(`AWS4${secret}`, day), region), service), 'aws4_request')
    cached = { secret, day, key }
    return key
  }

  return {
    sign(request, credentials, now = new Date()) {
      const datetime = amzDate(now)
      const day = datetime.slice(0, 8)
      const headers: Record<string, string> = {
        ...request.headers,
        host: request.host,
        'content-length': String(request.body.length),
        'x-amz-date': datetime,
      }
      if (credentials.sessionToken) headers['x-amz-security-token'] = credentials.sessionToken
      const names = Object.keys(headers).sort()
      let canonicalHeaders = ''
      for (const name of names) canonicalHeaders += `${name}:${canonicalValue(headers[name]!)}\n`
      const signedHeaders = names.join(';')
      const canonicalRequest = `POST\n/\n\n${canonicalHeaders}\n${signedHeaders}\n${sha256Hex(request.body)}`
      const scope = `${day}/${region}/${service}/aws4_request`
      const stringToSign = `${ALGORITHM}\n${datetime}\n${scope}\n${sha256Hex(canonicalRequest)}`
      const signature = createHmac('sha256', signingKey(credentials.secretAccessKey, day)).update(stringToSign).digest('hex')
      headers.authorization = `${ALGORITHM} Credential=${credentials.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`
      return headers
    },
  }
}
