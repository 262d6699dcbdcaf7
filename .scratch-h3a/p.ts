import { loadPolicyFile } from '../functions/lib/policy/load-file.js'
for (const f of ['config/policy.yaml', 'local/policy.yaml']) {
  const p = loadPolicyFile(f)
  console.log(f, p.ruleNames, p.issuers.map((i) => i.url))
}
