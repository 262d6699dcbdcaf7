import { fromJson, type JsonValue } from '@bufbuild/protobuf'
import { timestampDate } from '@bufbuild/protobuf/wkt'
import { describe, expect, it } from 'vitest'
import {
  CommitSchema,
  TokenSchema,
  type CommitJson,
  type TokenJson,
} from '../../../../functions/lib/githosted/gen/githosted/v1/types_pb.js'
import type { ReadFileResponseJson } from '../../../../functions/lib/githosted/gen/githosted/v1/repo_pb.js'
import { JsonReader, JsonShapeError } from '../../../../functions/lib/githosted/json-reader.js'
import { commitInfo, tokenRecord } from '../../../../functions/lib/githosted/mappers.js'

const KINDS = ['TOKEN_KIND_UNSPECIFIED', 'TOKEN_KIND_WORKSPACE', 'TOKEN_KIND_REPO'] as const

describe('JsonReader: proto3 JSON rules', () => {
  it('missing keys and nulls read as defaults', () => {
    const r = new JsonReader<TokenJson>({ name: null, repoAllowlist: null, createdAt: null })
    expect([r.string('id'), r.string('name')]).toEqual(['', ''])
    expect(r.strings('repoAllowlist')).toEqual([])
    expect(r.enum('kind', KINDS)).toBe(0)
    expect(r.timestamp('createdAt')).toBeUndefined()
    expect(new JsonReader<{ isDefault?: boolean }>({}).bool('isDefault')).toBe(false)
    expect(new JsonReader<ReadFileResponseJson>({}).bytes('content')).toEqual(new Uint8Array(0))
  })

  it('enums: a name, a number, or an unknown name (reads as 0)', () => {
    const read = (kind: unknown) => new JsonReader<TokenJson>({ kind }).enum('kind', KINDS)
    expect(read('TOKEN_KIND_REPO')).toBe(2)
    expect(read(2)).toBe(2)
    expect(read(1)).toBe(1)
    // A number outside the enum is kept (open enums), not mapped to a name.
    expect(read(7)).toBe(7)
    expect(read('TOKEN_KIND_FROM_THE_FUTURE')).toBe(0)
    expect(() => read(1.5)).toThrow(JsonShapeError)
    expect(() => read(true)).toThrow(/kind: expected an enum name or number/)
  })

  it('accepts snake_case keys too; camelCase wins when both are present', () => {
    const r = new JsonReader<TokenJson>({ repo_allowlist: ['a'], last_used_at: '2024-01-01T00:00:00Z' })
    expect(r.strings('repoAllowlist')).toEqual(['a'])
    expect(r.timestamp('lastUsedAt')?.toISOString()).toBe('2024-01-01T00:00:00.000Z')
    const both = new JsonReader<CommitJson>({ authorName: 'camel', author_name: 'snake' })
    expect(both.string('authorName')).toBe('camel')
  })

  it('bytes: std or url-safe base64, padded or not', () => {
    const expected = [0xfb, 0xff, 0xfe, 0x61]
    for (const content of ['+//+YQ==', '+//+YQ', '-__-YQ==', '-__-YQ']) {
      expect([...new JsonReader<ReadFileResponseJson>({ content }).bytes('content')], content).toEqual(expected)
    }
    expect(() => new JsonReader<ReadFileResponseJson>({ content: 'YQ=' }).bytes('content')).toThrow(
      /content: expected base64/,
    )
  })

  it('timestamps keep nanosecond input to the nearest millisecond', () => {
    const r = new JsonReader<CommitJson>({ committedAt: '2024-01-15T10:30:00.123456789Z' })
    expect(r.timestamp('committedAt')?.toISOString()).toBe('2024-01-15T10:30:00.123Z')
    expect(() => new JsonReader<CommitJson>({ committedAt: 'yesterday' }).timestamp('committedAt')).toThrow(
      /committedAt: expected an RFC 3339 timestamp/,
    )
  })

  it('wrong types fail with the path of the offending field', () => {
    expect(() => new JsonReader<TokenJson>({ id: 5 }).string('id')).toThrow(/^id: expected string$/)
    expect(() => new JsonReader<TokenJson>({ repoAllowlist: 'a' }).strings('repoAllowlist')).toThrow(
      /repoAllowlist: expected an array/,
    )
    expect(() => new JsonReader<TokenJson>({ repoAllowlist: ['a', 1] }).strings('repoAllowlist')).toThrow(
      /repoAllowlist\[1\]: expected string/,
    )
    const outer = new JsonReader<{ commits?: CommitJson[] }>({ commits: [{ hash: 'h' }, { hash: [] }] })
    const commits = outer.messages('commits')
    expect(commits[0]?.string('hash')).toBe('h')
    expect(() => commits[1]?.string('hash')).toThrow(/^commits\[1\]\.hash: expected string$/)
    const bad = new JsonReader<{ commits?: CommitJson[] }>({ commits: [3] })
    expect(() => bad.messages('commits')).toThrow(/commits\[0\]: expected an object/)
    expect(() => new JsonReader([])).toThrow(/message: expected an object/)
    expect(() => new JsonReader('x')).toThrow(JsonShapeError)
  })
})

/**
 * protobuf-es's fromJson (what the client used before) as the oracle: for
 * inputs both accept, the mapped results must be identical.
 */
describe('JsonReader agrees with protobuf-es fromJson', () => {
  const tokens: JsonValue[] = [
    {},
    { id: 't', prefix: 'gr', name: 'n', kind: 'TOKEN_KIND_REPO', permission: 'PERMISSION_READ' },
    { kind: 2, permission: 1, repoAllowlist: ['a', 'b'] },
    { kind: 'TOKEN_KIND_NEW', permission: 'PERMISSION_ADMIN' },
    { kind: 1, permission: 2, created_at: '2024-02-29T23:59:59.999999999Z' },
    {
      createdAt: '1970-01-01T00:00:00Z',
      expiresAt: '2030-06-01T12:00:00.5+05:30',
      revokedAt: '2024-01-15T10:30:00.000500Z',
      lastUsedAt: '2024-01-15T10:30:00.0004Z',
      organizationId: 'ignored',
      futureField: { nested: true },
    },
  ]
  it.each(tokens.map((t) => [JSON.stringify(t), t] as const))('token %s', (_label, json) => {
    const ours = tokenRecord(new JsonReader<TokenJson>(json))
    const pb = fromJson(TokenSchema, json, { ignoreUnknownFields: true })
    const date = (ts: typeof pb.createdAt) => (ts ? timestampDate(ts) : undefined)
    expect(ours).toEqual({
      id: pb.id,
      prefix: pb.prefix,
      name: pb.name,
      kind: pb.kind === 2 ? 'repo' : 'workspace',
      permission: pb.permission === 1 ? 'read' : 'write',
      repoAllowlist: pb.repoAllowlist,
      createdAt: date(pb.createdAt),
      expiresAt: date(pb.expiresAt),
      revokedAt: date(pb.revokedAt),
      lastUsedAt: date(pb.lastUsedAt),
    })
  })

  const commits: JsonValue[] = [
    { hash: 'h', subject: 's', committedAt: '2024-01-15T10:30:00.123Z', message: 'full\n\nbody' },
    { hash: 'h', author_name: 'A', author_email: 'a@x', committed_at: '2024-01-15T10:30:00Z' },
  ]
  it.each(commits.map((c) => [JSON.stringify(c), c] as const))('commit %s', (_label, json) => {
    const ours = commitInfo(new JsonReader<CommitJson>(json))
    const pb = fromJson(CommitSchema, json, { ignoreUnknownFields: true })
    expect(ours).toEqual({
      sha: pb.hash,
      authorName: pb.authorName,
      authorEmail: pb.authorEmail,
      committedAt: pb.committedAt ? timestampDate(pb.committedAt) : undefined,
      subject: pb.subject,
      message: pb.message === '' ? undefined : pb.message,
    })
  })

  it.each([
    { hash: 1 },
    { committedAt: 'not-a-time' },
    { committedAt: '0000-01-01T00:00:00Z' },
    { subject: ['x'] },
  ])('both reject %j', (json) => {
    expect(() => fromJson(CommitSchema, json as unknown as JsonValue, { ignoreUnknownFields: true })).toThrow()
    expect(() => commitInfo(new JsonReader<CommitJson>(json))).toThrow(JsonShapeError)
  })
})
