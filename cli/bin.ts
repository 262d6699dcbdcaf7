/**
 * The `githosted-ci` executable (package.json `bin`, bundled by build/cli.ts).
 */
import { runCli } from './githosted-ci.js'

runCli(process.argv.slice(2), process.env, { out: (l) => console.log(l), err: (l) => console.error(l) }).then(
  (code) => {
    process.exitCode = code
  },
  (err: unknown) => {
    console.error(`githosted-ci: ${err instanceof Error ? err.message : String(err)}`)
    process.exitCode = 1
  },
)
