/**
 * esbuild plugin: `import policy from '../../config/policy.yaml'` becomes
 * data in the bundle, so handlers carry their policy without a YAML parser.
 * Policy files (named `policy.yaml`/`*.policy.yaml`) are validated and
 * compiled here with the same loader `npm start` and the tests use (an
 * invalid policy fails the build), and the bundle gets the compiled form
 * with its format marker (functions/lib/policy/compiled.ts): the Lambda only
 * checks the marker instead of validating again on its first request. Other
 * YAML files become their parsed document.
 */
import type { Plugin } from 'esbuild'
import { readFile } from 'node:fs/promises'
import { basename } from 'node:path'
import { toCompiledPolicyData } from '../functions/lib/policy/compiled.js'
import { compilePolicy } from '../functions/lib/policy/load.js'
import { parsePolicyText } from '../functions/lib/policy/load-file.js'

export function yamlPlugin(): Plugin {
  return {
    name: 'yaml-as-json',
    setup(build) {
      build.onLoad({ filter: /\.ya?ml$/ }, async (args) => {
        const document = parsePolicyText(await readFile(args.path, 'utf8'), args.path)
        const name = basename(args.path)
        let data: unknown = document
        if (name === 'policy.yaml' || name.endsWith('.policy.yaml')) {
          try {
            data = toCompiledPolicyData(compilePolicy(document))
          } catch (err) {
            return { errors: [{ text: `${args.path}: ${err instanceof Error ? err.message : String(err)}` }] }
          }
        }
        return { contents: JSON.stringify(data), loader: 'json', watchFiles: [args.path] }
      })
    },
  }
}
