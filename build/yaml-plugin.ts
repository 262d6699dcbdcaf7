/**
 * esbuild plugin: `import policy from '../../config/policy.yaml'` becomes the
 * parsed document as JSON, so handlers carry their policy without a YAML
 * parser. Policy files (named `policy.yaml`/`*.policy.yaml`) are validated
 * here with the same loader the Lambdas use: an invalid policy fails the build.
 */
import type { Plugin } from 'esbuild'
import { readFile } from 'node:fs/promises'
import { basename } from 'node:path'
import { loadPolicy } from '../functions/lib/policy/index.js'
import { parsePolicyText } from '../functions/lib/policy/load-file.js'

export function yamlPlugin(): Plugin {
  return {
    name: 'yaml-as-json',
    setup(build) {
      build.onLoad({ filter: /\.ya?ml$/ }, async (args) => {
        const document = parsePolicyText(await readFile(args.path, 'utf8'), args.path)
        const name = basename(args.path)
        if (name === 'policy.yaml' || name.endsWith('.policy.yaml')) {
          try {
            loadPolicy(document)
          } catch (err) {
            return { errors: [{ text: `${args.path}: ${err instanceof Error ? err.message : String(err)}` }] }
          }
        }
        return { contents: JSON.stringify(document), loader: 'json', watchFiles: [args.path] }
      })
    },
  }
}
