import { section, type Scenario } from '../harness/scenario.js'

export const contention: Scenario = {
  name: 'contention',
  async run() {
    const s = section('contention', 'placeholder')
    s.notes.push('not measured: scenario not written yet')
    return s
  },
}
