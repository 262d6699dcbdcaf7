/**
 * Writes the OpenAPI 3.1 document (functions/lib/openapi) to dist/openapi.json
 * at build time, for clients and the npm package; the status function serves
 * the same document at GET /openapi.json.
 *
 * Usage: tsx build/openapi.ts
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { buildOpenApiDocument } from '../functions/lib/openapi/document.js'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')

export function writeOpenApi(outfile = join(root, 'dist', 'openapi.json')): string {
  const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }
  mkdirSync(dirname(outfile), { recursive: true })
  writeFileSync(outfile, `${JSON.stringify(buildOpenApiDocument(version), null, 2)}\n`)
  return outfile
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  console.log(writeOpenApi())
}
