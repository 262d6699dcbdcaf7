/**
 * The client builds and reads proto3 JSON by hand (no protobuf-es at run
 * time). These tests hold it to the generated schemas, using protobuf-es as
 * the reference: every procedure exists, every request body is exactly the
 * canonical JSON protobuf-es would print, and responses printed by
 * protobuf-es read back correctly, as do the non-canonical forms a conforming
 * server may send.
 */
import { create, fromJson, toJson, type DescMessage, type DescService } from '@bufbuild/protobuf'
import { timestampFromDate } from '@bufbuild/protobuf/wkt'
import { describe, expect, it } from 'vitest'
import { ApiService } from '../../../../functions/lib/githosted/gen/githosted/v1/api_pb.js'
import { RepoService } from '../../../../functions/lib/githosted/gen/githosted/v1/repo_pb.js'
import {
  CommitSchema,
  Permission,
  TokenKind,
  TokenSchema,
} from '../../../../functions/lib/githosted/gen/githosted/v1/types_pb.js'
import { Client, GithostedError } from '../../../../functions/lib/githosted/index.js'
import { fakeConnect, ok, virtualTime, type Handler } from './fake-connect.js'

const SHA_A = 'a'.repeat(40)
const SHA_B = 'b'.repeat(40)

function inputSchema(procedure: string): DescMessage | undefined {
  const services: DescService[] = [ApiService, RepoService]
  for (const s of services) {
    for (const m of s.methods) {
      if (`/${s.typeName}/${m.name}` === procedure) return m.input
    }
  }
  return undefined
}

function client(handlers: Record<string, Handler>, verify: 'never' | 'always' = 'never') {
  const fake = fakeConnect(handlers)
  const c = new Client({
    baseUrl: 'http://conformance.test',
    fetch: fake.fetch,
    verifyExpectedHead: verify,
    ...virtualTime().deps,
  })
  return { c, fake }
}

describe('requests are canonical proto3 JSON for the generated schemas', () => {
  it('every call: known procedure, strict parse by protobuf-es, identical re-print', async () => {
    const commit = { hash: SHA_B, subject: 's' }
    const { c, fake } = client(
      {
        CreateToken: () => ok({ token: 't' }),
        ExchangeToken: () => ok({ token: 't' }),
        RevokeToken: () => ok({}),
        ListTokens: () => ok({}),
        CreateRepo: () => ok({}),
        ListFiles: () => ok({}),
        ReadFile: () => ok({ content: '', headSha: SHA_A }),
        WriteFile: () => ok({ branch: 'main', commit: SHA_B }),
        DeleteFile: () => ok({ branch: 'main', commit: SHA_B }),
        ListBranches: () => ok({}),
        Log: (b) => ok({ commits: b.limit === 1 ? [{ hash: SHA_A }] : [commit, { hash: SHA_A }] }),
        Diff: () => ok({}),
      },
      'always',
    )
    await c.createToken({ name: 'ci', repoAllowlist: ['r1', 'r2'], permission: 'read', ttlHours: 2 })
    await c.createToken({ name: 'ws', kind: 'workspace' })
    await c.exchangeToken({ repoAllowlist: ['r1'], ttlSeconds: 900, subject: 'ci:x' })
    await c.revokeToken('tok_1')
    await c.listTokens({ pageSize: 10, pageToken: 'p' })
    await c.listTokens()
    await c.createRepo({ name: 'n', slug: 's' })
    const repo = c.repo('cfg')
    await repo.ls('dir', { ref: 'main' })
    await repo.read('a.json', { ref: SHA_A })
    // Bytes that need +, / and padding in standard base64.
    await repo.write('a.bin', new Uint8Array([0xfb, 0xff, 0xfe, 0x61]), {
      message: 'm',
      expectedHead: SHA_A,
      authorName: 'A',
      authorEmail: 'a@x',
    })
    await repo.write('empty', '', { message: 'm', branch: 'dev' })
    await repo.delete('a.json', { message: 'm', expectedHead: SHA_A })
    await repo.listBranches()
    await repo.log({ ref: 'main', path: 'p', limit: 3 })
    await repo.diff(SHA_A, SHA_B, { path: 'p' })

    const seen = new Set<string>()
    for (const req of fake.requests) {
      seen.add(req.procedure.split('/').pop() ?? '')
      const schema = inputSchema(req.procedure)
      expect(schema, req.procedure).toBeDefined()
      if (!schema) continue
      // Strict: an unknown or misspelt field name, or a wrong type, throws here.
      const parsed = fromJson(schema, req.body as never)
      expect(toJson(schema, parsed), req.procedure).toEqual(req.body)
    }
    expect([...seen].sort()).toEqual([
      'CreateRepo',
      'CreateToken',
      'DeleteFile',
      'Diff',
      'ExchangeToken',
      'ListBranches',
      'ListFiles',
      'ListTokens',
      'Log',
      'ReadFile',
      'RevokeToken',
      'WriteFile',
    ])
    const write = fake.calls('WriteFile')[0]?.body
    expect(write?.content).toBe('+//+YQ==')
    expect(fake.calls('WriteFile')[1]?.body).not.toHaveProperty('content')
  })
})

describe('responses: canonical (printed by protobuf-es) and the other forms servers may send', () => {
  it('a token record printed by protobuf-es reads back field for field', async () => {
    const created = new Date('2024-01-15T10:30:00.123Z')
    const record = create(TokenSchema, {
      id: 'tok_1',
      prefix: 'gr',
      name: 'ci',
      kind: TokenKind.REPO,
      permission: Permission.READ,
      repoAllowlist: ['deploy-configs', 'other'],
      createdAt: timestampFromDate(created),
      expiresAt: { seconds: 1_900_000_000n, nanos: 987_654_321 },
      createdByName: 'someone',
    })
    const { c } = client({
      ListTokens: () => ok({ tokens: [toJson(TokenSchema, record)], nextPageToken: 'n' }),
    })
    const res = await c.listTokens()
    expect(res).toEqual({
      tokens: [
        {
          id: 'tok_1',
          prefix: 'gr',
          name: 'ci',
          kind: 'repo',
          permission: 'read',
          repoAllowlist: ['deploy-configs', 'other'],
          createdAt: created,
          expiresAt: new Date(1_900_000_000_988),
          revokedAt: undefined,
          lastUsedAt: undefined,
        },
      ],
      nextPageToken: 'n',
    })
  })

  it('enums as numbers, snake_case keys, nulls and missing fields', async () => {
    const { c } = client({
      CreateToken: () =>
        ok({
          token: 'gr_x',
          record: {
            id: 't',
            kind: 2,
            permission: 1,
            repo_allowlist: ['a'],
            expires_at: null,
            created_at: '2024-01-01T00:00:00Z',
          },
        }),
      ExchangeToken: () => ok({ token: 'gr_y' }),
      ListBranches: () =>
        ok({ branches: [{ name: 'main', commit: SHA_A, is_default: true }, { name: 'dev' }] }),
    })
    const a = await c.createToken({ name: 'x' })
    expect(a.record).toMatchObject({
      id: 't',
      kind: 'repo',
      permission: 'read',
      repoAllowlist: ['a'],
      expiresAt: undefined,
    })
    expect(a.record.createdAt?.toISOString()).toBe('2024-01-01T00:00:00.000Z')
    // No record at all: every field at its default (permission reads as write, never less).
    const b = await c.exchangeToken({ repoAllowlist: ['r'] })
    expect(b.record).toEqual({
      id: '',
      prefix: '',
      name: '',
      kind: 'workspace',
      permission: 'write',
      repoAllowlist: [],
      createdAt: undefined,
      expiresAt: undefined,
      revokedAt: undefined,
      lastUsedAt: undefined,
    })
    expect(await c.repo('r').listBranches()).toEqual([
      { name: 'main', commit: SHA_A, isDefault: true },
      { name: 'dev', commit: '', isDefault: false },
    ])
  })

  it('ReadFile content in url-safe, unpadded base64; commit times with nanoseconds', async () => {
    const bytes = new Uint8Array([0xfb, 0xff, 0xfe, 0x61])
    const { c } = client({
      ReadFile: () => ok({ content: '-__-YQ', headSha: SHA_A, sha: 'f'.repeat(40) }),
      Log: () => {
        const committedAt = { seconds: 1_700_000_000n, nanos: 123_456_789 }
        return ok({ commits: [toJson(CommitSchema, create(CommitSchema, { hash: SHA_A, committedAt }))] })
      },
    })
    const f = await c.repo('r').read('a.bin')
    expect([...f.rawContent]).toEqual([...bytes])
    expect(f.rawContent.constructor).toBe(Uint8Array)
    const [commit] = await c.repo('r').log()
    expect(commit?.committedAt?.toISOString()).toBe('2023-11-14T22:13:20.123Z')
  })

  it('a field of the wrong type is GITHOSTED_INTERNAL naming the field, never retried', async () => {
    let calls = 0
    const { c } = client({
      Log: () => {
        calls++
        return ok({ commits: [{ hash: SHA_A }, { hash: SHA_B, committedAt: 12 }] })
      },
      ReadFile: () => ok({ content: 'not base64!' }),
    })
    const err = (await c.repo('r').log().catch((e: unknown) => e)) as GithostedError
    expect(err).toBeInstanceOf(GithostedError)
    expect(err.code).toBe('GITHOSTED_INTERNAL')
    expect(err.message).toBe(
      'githosted /githosted.v1.RepoService/Log failed: internal: bad response: ' +
        'commits[1].committedAt: expected string',
    )
    expect(err.procedure).toBe('/githosted.v1.RepoService/Log')
    expect(err.httpStatus).toBe(200)
    expect(calls).toBe(1)
    await expect(c.repo('r').read('a', { ref: SHA_A })).rejects.toThrow(
      /bad response: content: expected base64/,
    )
  })

  it('a 200 whose JSON is not an object is a bad response', async () => {
    const { c } = client({ Diff: () => ok(['patch']) })
    await expect(c.repo('r').diff('a', 'b')).rejects.toMatchObject({
      code: 'GITHOSTED_INTERNAL',
      message: expect.stringContaining('bad response: message: expected an object'),
    })
  })
})
