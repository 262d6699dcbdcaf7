import { describe, expect, it } from 'vitest'
import { baseMarker } from '../../../../functions/lib/deploys/deploy-message.js'
import { clobberedChanges, divergence } from '../../../../functions/lib/deploys/repair.js'
import { formatDeployMessage } from '../../../../functions/lib/deploys/trailers.js'
import { FakeRepo } from './fake-repo.js'

const PROD = 'environments/production.json'
const text = (doc: Record<string, unknown>) => JSON.stringify(doc, null, 2) + '\n'

/** A deploy commit as our core writes it: computed on `base`, landing wherever the tip is. */
function deploy(repo: FakeRepo, fullMessages: boolean, base: string, doc: Record<string, unknown>, key: string) {
  const subject = `Set /${key} in production`
  const message = formatDeployMessage(fullMessages ? subject : `${subject} ${baseMarker(base)}`, {
    environment: 'production',
    source: 'api',
    changes: [{ pointer: `/${key}`, previous: null, current: doc[key] }],
    baseCommit: base,
  })
  return repo.put(PROD, text(doc), message)
}

describe.each([true, false])('the losing schedule, replayed (full messages in Log: %s)', (fullMessages) => {
  // s8 is deployed; Y (computed before s8) clobbers it; Z (computed after s8) carries s8 back only
  // because its stale base had it; X (computed on Y) then lands on Z and clobbers s8 a second time.
  function history() {
    const repo = new FakeRepo({ [PROD]: text({ image: 'app:0' }) }, { mode: 'compat' })
    repo.fullMessages = fullMessages
    const s0 = repo.head
    const c8 = deploy(repo, fullMessages, s0, { image: 'app:0', s8: 'img:8' }, 's8')
    const cy = deploy(repo, fullMessages, s0, { image: 'app:0', y: 'y' }, 'y')
    const cz = deploy(repo, fullMessages, c8, { image: 'app:0', s8: 'img:8', z: 'z' }, 'z')
    const cx = deploy(repo, fullMessages, cy, { image: 'app:0', y: 'y', x: 'x' }, 'x')
    return { repo, s0, c8, cy, cz, cx }
  }

  it('restoring only what X overwrote misses s8: Z carried it without meaning to change it', async () => {
    const { repo, cy, cz } = history()
    const { changes } = await clobberedChanges({ repo, path: PROD, environment: 'production', expectedHead: cy, actualParent: cz, baseText: repo.fileAt(PROD, cy)! })
    expect(changes.map((c) => c.pointer)).toEqual(['/z'])
  })

  it('comparing the tip with its intended state finds every missing change, s8 included', async () => {
    const { repo, cx } = history()
    const d = await divergence({ repo, path: PROD, environment: 'production', tip: cx })
    expect(d.fixes.map((f) => [f.pointer, f.value])).toEqual([
      ['/s8', 'img:8'],
      ['/z', 'z'],
    ])
    expect(d.exact).toBe(true)
  })

  it('a repair that lands blind does not undo a newer deploy of the key it restores', async () => {
    const { repo, cx } = history()
    // A repair computed on X restores s8 and z, but lands after someone set z to z2.
    const z2 = repo.put(PROD, text({ image: 'app:0', y: 'y', x: 'x', z: 'z2' }), 'manual edit: z is z2\n')
    const subject = 'Restore changes to production overwritten by 000000000000'
    repo.put(
      PROD,
      text({ image: 'app:0', y: 'y', x: 'x', s8: 'img:8', z: 'z' }),
      formatDeployMessage(fullMessages ? subject : `${subject} ${baseMarker(cx)}`, {
        environment: 'production',
        source: 'repair',
        changes: [
          { pointer: '/s8', previous: null, current: 'img:8' },
          { pointer: '/z', previous: null, current: 'z' },
        ],
        baseCommit: cx,
      }),
    )
    expect(z2).not.toBe(repo.head)
    const d = await divergence({ repo, path: PROD, environment: 'production', tip: repo.head })
    expect(d.fixes.map((f) => [f.pointer, f.value])).toEqual([['/z', 'z2']])
  })

  it('a tip that holds every intended change needs nothing', async () => {
    const { repo } = history()
    repo.put(PROD, text({ image: 'app:0', y: 'y', x: 'x', s8: 'img:8', z: 'z' }), 'Restore by hand\n')
    const d = await divergence({ repo, path: PROD, environment: 'production', tip: repo.head })
    expect(d.fixes).toEqual([])
  })
})
