import { afterEach, describe, expect, it } from 'vitest'
import { Code, ConnectError } from '@connectrpc/connect'
import { RepoBusyDetailSchema } from '../../../functions/lib/githosted/gen/githosted/v1/errors_pb.js'
import { startTestGithosted, type TestGithosted } from '../../helpers/githosted.js'
import { enc, git, repoClient } from './support.js'

let server: TestGithosted | undefined

afterEach(async () => {
  await server?.close()
  server = undefined
})

async function outcome(p: Promise<unknown>): Promise<Code | 'ok'> {
  try {
    await p
    return 'ok'
  } catch (err) {
    return ConnectError.from(err).code
  }
}

const write = (s: TestGithosted, i: number) =>
  repoClient(s.url, s.bootstrapToken).writeFile({ repoRef: 'deploy-configs', path: `f${i}.txt`, content: enc(`${i}`) })

describe('fault injection', () => {
  it('forces RepoBusy on the next N writes (aborted + RepoBusyDetail), writing nothing', async () => {
    server = await startTestGithosted({ faults: { repoBusy: { next: 2 } } })
    const gitdir = server.repoGitDir('deploy-configs')
    const head = git(gitdir, 'rev-parse', 'main')
    for (const i of [1, 2]) {
      const err = ConnectError.from(await write(server, i).catch((e: unknown) => e))
      expect(err.code).toBe(Code.Aborted)
      expect(err.findDetails(RepoBusyDetailSchema)[0]?.operation).toBe('write_file')
    }
    expect(git(gitdir, 'rev-parse', 'main')).toBe(head)
    expect(await outcome(write(server, 3))).toBe('ok')
    // Reads are never RepoBusy.
    server.setFaults({ repoBusy: { next: 5 } })
    expect(await outcome(repoClient(server.url, server.bootstrapToken).listBranches({ repoRef: 'deploy-configs' }))).toBe('ok')
  })

  it('applies per-method error rates reproducibly from a seed', async () => {
    const run = async (): Promise<Array<Code | 'ok'>> => {
      const s = await startTestGithosted({ randomSeed: 42, faults: { errors: { WriteFile: { code: 'unavailable', rate: 0.5 } } } })
      try {
        const out: Array<Code | 'ok'> = []
        for (let i = 0; i < 16; i++) out.push(await outcome(write(s, i)))
        // Other methods are unaffected.
        out.push(await outcome(repoClient(s.url, s.bootstrapToken).listBranches({ repoRef: 'deploy-configs' })))
        return out
      } finally {
        await s.close()
      }
    }
    const first = await run()
    expect(first.at(-1)).toBe('ok')
    const writes = first.slice(0, -1)
    expect(writes.filter((o) => o === Code.Unavailable).length).toBeGreaterThan(0)
    expect(writes.filter((o) => o === 'ok').length).toBeGreaterThan(0)
    expect(writes.every((o) => o === 'ok' || o === Code.Unavailable)).toBe(true)
    expect(await run()).toEqual(first)
  })

  it('always fails at rate 1 and never at rate 0, switchable at runtime', async () => {
    server = await startTestGithosted({ faults: { errors: { ReadFile: { code: 'internal', rate: 1 } } } })
    const read = () => repoClient(server!.url, server!.bootstrapToken).readFile({ repoRef: 'deploy-configs', path: 'environments/staging.json' })
    expect(await outcome(read())).toBe(Code.Internal)
    server.setFaults({})
    expect(await outcome(read())).toBe('ok')
  })

  it('adds latency to every call', async () => {
    const slept: number[] = []
    server = await startTestGithosted({
      faults: { latencyMs: 250 },
      sleep: async (ms) => {
        slept.push(ms)
      },
    })
    await repoClient(server.url, server.bootstrapToken).listBranches({ repoRef: 'deploy-configs' })
    await write(server, 1)
    expect(slept).toEqual([250, 250])
    server.setFaults({ latencyMs: 0 })
    await write(server, 2)
    expect(slept).toHaveLength(2)
  })

  it('forces RepoBusy at a rate', async () => {
    server = await startTestGithosted({ randomSeed: 7, faults: { repoBusy: { rate: 1 } } })
    expect(await outcome(write(server, 1))).toBe(Code.Aborted)
    server.setFaults({ repoBusy: { rate: 0 } })
    expect(await outcome(write(server, 2))).toBe('ok')
  })
})
