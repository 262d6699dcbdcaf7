/**
 * Promotion planning against the local githosted: which values move, how
 * the digest travels, and which commit counts as the source (the one that
 * set the value, found through the file's history, hand edits included).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { digestPointerFor, pinnedReference, splitImage } from '../../../../functions/lib/deploys/digest.js'
import { valueOrigin } from '../../../../functions/lib/deploys/origin.js'
import { planPromotion, type PromotionInput } from '../../../../functions/lib/deploys/promote.js'
import { Client } from '../../../../functions/lib/githosted/index.js'
import type { RepoHandle } from '../../../../functions/lib/githosted/types.js'
import { startTestGithosted, type TestGithosted } from '../../../helpers/githosted.js'

const A = `sha256:${'a'.repeat(64)}`
const B = `sha256:${'b'.repeat(64)}`
const open = { from: 'staging', to: 'production', minSoakSeconds: 0, requireChecks: [] }

let gh: TestGithosted
let repo: RepoHandle

beforeAll(async () => {
  gh = await startTestGithosted()
  repo = new Client({ token: gh.bootstrapToken, baseUrl: gh.url }).repo('deploy-configs')
})
afterAll(() => gh?.close())

async function put(env: string, doc: unknown, message = `Edit ${env}`): Promise<string> {
  return (await repo.write(`environments/${env}.json`, `${JSON.stringify(doc, null, 2)}\n`, { message })).commit
}
const plan = (over: Partial<PromotionInput> = {}) => planPromotion(repo, { from: 'staging', to: 'production', gate: open, now: new Date(), ...over })

describe('digest references', () => {
  it('names the digest key after the image key and pins references', () => {
    expect(digestPointerFor('/image')).toBe('/imageDigest')
    expect(digestPointerFor('/services/app/image')).toBe('/services/app/imageDigest')
    expect(splitImage(`ghcr.io/acme/app:1.0@${A}`)).toEqual({ name: 'ghcr.io/acme/app:1.0', digest: A })
    expect(splitImage('localhost:5000/app:1.0')).toEqual({ name: 'localhost:5000/app:1.0' })
    expect(pinnedReference(`ghcr.io/acme/app:1.0@${A}`, B)).toBe(`ghcr.io/acme/app:1.0@${B}`)
  })
})

describe('planPromotion', () => {
  it('takes the digest from the reference when the file has no digest key, and writes it as configured', async () => {
    await put('staging', { image: `ghcr.io/acme/app:2.0@${A}`, replicas: 3 })
    expect((await plan()).set).toEqual({ '/image': `ghcr.io/acme/app:2.0@${A}`, '/imageDigest': A })
    expect((await plan({ settings: { digest: 'reference' } })).set).toEqual({ '/image': `ghcr.io/acme/app:2.0@${A}` })
  })

  it('refuses a file that pins two different digests, or a digest key that is not one', async () => {
    await put('staging', { image: `ghcr.io/acme/app:2.0@${A}`, imageDigest: B })
    await expect(plan()).rejects.toMatchObject({ code: 'PROMOTION_DIGEST_MISMATCH', gate: 'digest' })
    await put('staging', { image: 'ghcr.io/acme/app:2.0', imageDigest: 'latest' })
    await expect(plan()).rejects.toMatchObject({ code: 'PROMOTION_DIGEST_MISSING', gate: 'digest' })
  })

  it('copies other keys as they are, and the digest key alone when the image is not among the keys', async () => {
    await put('staging', { image: 'ghcr.io/acme/app:2.1', imageDigest: A, replicas: 5, env: { LOG_LEVEL: 'warn' } })
    expect((await plan({ keys: ['/replicas', '/env/LOG_LEVEL'] })).set).toEqual({ '/replicas': 5, '/env/LOG_LEVEL': 'warn' })
    expect((await plan({ keys: ['/imageDigest'] })).set).toEqual({ '/imageDigest': A })
    // Named together with the image, the digest key is not copied twice.
    expect((await plan({ keys: ['/image', '/imageDigest'] })).set).toEqual({ '/image': 'ghcr.io/acme/app:2.1', '/imageDigest': A })
    await expect(plan({ keys: [''] })).rejects.toMatchObject({ code: 'VALIDATION_FAILED', field: 'keys' })
    await expect(plan({ from: 'nowhere' })).rejects.toMatchObject({ code: 'NOT_FOUND' })
  })

  it('names as source the commit that set the value, not later commits that left it alone', async () => {
    const set = await put('staging', { image: 'ghcr.io/acme/app:3.0', imageDigest: A, replicas: 1 })
    await put('staging', { image: 'ghcr.io/acme/app:3.0', imageDigest: A, replicas: 2 }, 'Hand edit: replicas')
    const p = await plan()
    expect(p.source.commit).toBe(set)
    expect(p.promotedFrom).toBe(`staging@${set}`)
    // The replicas edit is the source of /replicas, though.
    const replicas = await plan({ keys: ['/replicas'] })
    expect(replicas.source.commit).not.toBe(set)
    const [doc, head] = [{ image: 'ghcr.io/acme/app:3.0', imageDigest: A }, (await repo.log({ limit: 1 }))[0]!.sha]
    expect((await valueOrigin(repo, { path: 'environments/staging.json', keys: [['image'], ['imageDigest']], current: doc, ref: head }))?.commit.sha).toBe(set)
  })

  it('measures the soak from that commit', async () => {
    const p = await plan()
    const setAt = Date.parse(p.source.committedAt!)
    const gate = { ...open, minSoakSeconds: 600 }
    await expect(plan({ gate, now: new Date(setAt + 599_000) })).rejects.toMatchObject({ code: 'PROMOTION_SOAK_PENDING', gate: 'minSoak' })
    await expect(plan({ gate, now: new Date(setAt + 600_000) })).resolves.toMatchObject({ source: { commit: p.source.commit } })
  })
})
