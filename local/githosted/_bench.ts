import { startLocalGithosted } from './index.js'
import { createClient } from '@connectrpc/connect'
import { createConnectTransport } from '@connectrpc/connect-node'
import { RepoService } from '../../functions/lib/githosted/gen/githosted/v1/repo_pb.js'
const s = await startLocalGithosted({ seed: true })
for (const [httpVersion, useBinaryFormat] of [['2', true], ['1.1', false], ['2', true]] as const) {
  const c = createClient(RepoService, createConnectTransport({ baseUrl: s.url, httpVersion, useBinaryFormat, interceptors: [(n) => (r) => { r.header.set('authorization', `Bearer ${s.bootstrapToken}`); return n(r) }] }))
  const N = 200
  let t = performance.now()
  for (let i = 0; i < N; i++) await c.readFile({ repoRef: 'deploy-configs', path: 'environments/staging.json' })
  const readMs = (performance.now() - t) / N
  t = performance.now()
  for (let i = 0; i < N; i++) await c.writeFile({ repoRef: 'deploy-configs', path: 'environments/staging.json', content: new TextEncoder().encode(`{"i": ${i}}\n`) })
  const writeMs = (performance.now() - t) / N
  t = performance.now()
  for (let i = 0; i < 20; i++) await c.log({ repoRef: 'deploy-configs', limit: 20, path: 'environments/production.json' })
  const logMs = (performance.now() - t) / 20
  console.log(`${httpVersion} binary=${useBinaryFormat}: read ${readMs.toFixed(2)} ms, write ${writeMs.toFixed(2)} ms, log(path filter, deep) ${logMs.toFixed(1)} ms`)
}
await s.close()
