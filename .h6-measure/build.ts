import { bundleFunction } from '../build/bundle.js'
const b = await bundleFunction('probe', { entry: new URL('./probe.ts', import.meta.url).pathname, outdir: new URL('./bundled', import.meta.url).pathname, external: [] })
const e = await bundleFunction('probe', { entry: new URL('./probe.ts', import.meta.url).pathname, outdir: new URL('./external', import.meta.url).pathname, external: ['@aws-sdk/*'] })
console.log('bundled bytes', b.bytes, 'external bytes', e.bytes)
