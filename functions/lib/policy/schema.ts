/**
 * The policy document's shape (version 1), checked with valibot. Shape only:
 * the rules that keep a policy from failing open live in load.ts, where they
 * can name the rule and field that is wrong.
 */
import * as v from 'valibot'
import { PRESET_NAMES } from '../auth/presets.js'

// YAML turns `ref_protected: true` or `repository_id: 74` into a boolean or number;
// claims compare as strings, so accept those and compare their text.
const Pattern = v.pipe(v.union([v.string(), v.number(), v.boolean()]), v.transform(String))
const Patterns = v.union([Pattern, v.array(Pattern)])

export const IssuerSchema = v.strictObject({
  preset: v.picklist(PRESET_NAMES),
  url: v.optional(v.string()),
  jwksUri: v.optional(v.string()),
  serverUrl: v.optional(v.string()),
  identityClaims: v.optional(v.array(v.string())),
  description: v.optional(v.string()),
})

export const MatchSchema = v.strictObject({
  issuer: v.optional(v.string()),
  brokerKey: v.optional(v.string()),
  claims: v.optional(v.record(v.string(), Patterns)),
})

/** One promotion path a grant allows, with the gates a promotion along it must pass. */
export const PromoteSchema = v.strictObject({
  from: v.string(),
  to: v.string(),
  minSoak: v.optional(v.union([v.string(), v.number()])),
  requireChecks: v.optional(v.array(v.string())),
})

export const GrantSchema = v.strictObject({
  repos: v.array(v.string()),
  permission: v.picklist(['read', 'write']),
  maxTtl: v.union([v.string(), v.number()]),
  environments: v.optional(v.array(v.string())),
  overrideHolds: v.optional(v.boolean()),
  promote: v.optional(v.array(PromoteSchema)),
})

export const RuleSchema = v.strictObject({
  name: v.string(),
  description: v.optional(v.string()),
  match: MatchSchema,
  grant: GrantSchema,
})

export const PolicyDocumentSchema = v.strictObject({
  version: v.literal(1),
  description: v.optional(v.string()),
  issuers: v.optional(v.record(v.string(), IssuerSchema)),
  rules: v.array(RuleSchema),
})

/** A policy document as written (YAML or JSON). */
export type PolicyDocument = v.InferOutput<typeof PolicyDocumentSchema>
export type RuleDocument = v.InferOutput<typeof RuleSchema>
export type IssuerDocument = v.InferOutput<typeof IssuerSchema>
