import * as v from 'valibot'
const S = v.strictObject({ a: v.string(), b: v.optional(v.array(v.string())), r: v.optional(v.record(v.string(), v.union([v.string(), v.array(v.string())]))) })
for (const x of [{ a: 'x', c: 1 }, { a: 1 }, { a: 'x', b: [1] }, {}, { a: 'x', r: { k: 5 } }, 'str']) {
  const r = v.safeParse(S, x)
  if (!r.success) for (const i of r.issues) console.log(JSON.stringify(x), '|', v.getDotPath(i), '|', i.kind, i.type, '|', i.message, '|', i.path?.map(p => p.key))
}
