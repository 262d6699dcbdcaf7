/**
 * The Action's entry (action.yml runs.main and runs.post; bundled by build/cli.ts).
 */
import { runAction } from './action.js'

runAction(process.env, { out: (l) => process.stdout.write(`${l}\n`) }).then((code) => {
  process.exitCode = code
})
