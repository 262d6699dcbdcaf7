/**
 * Lambda entry for the deploy endpoints (API Gateway HTTP API, payload 2.0).
 * Thin on purpose: the policy is compiled in at build time, dependencies are
 * built from the environment on the first request, and at module load the
 * only network is the connection warm-up, which never fails INIT.
 */
import { handle } from 'hono/aws-lambda'
import mappingDocument from '../../config/deploy-mapping.json' with { type: 'json' }
import builtPolicy from '../../config/policy.yaml'
import { imagePointersOf, loadMapping, promotionSettingsFor } from '../events/mapping.js'
import { DEFAULT_LAYOUT } from '../lib/deploys/change.js'
import { observed } from '../lib/observability/invocation.js'
import { policyFromBuild } from '../lib/policy/compiled.js'
import { createDeployApp } from './app.js'
import { buildDeployDeps } from './deps.js'
import { warmUpConnections } from '../lib/lambda/warm-up.js'

// Opens the state table and githosted connections while INIT finishes; never fails INIT.
warmUpConnections(process.env)

const mapping = loadMapping(mappingDocument)
// Keys the mapping fills with image references get the image check on `set` too.
const layout = { ...DEFAULT_LAYOUT, imagePointers: imagePointersOf(mapping) }

const app = createDeployApp(() => ({ ...buildDeployDeps(process.env, policyFromBuild(builtPolicy)), layout, promotions: (repo: string) => promotionSettingsFor(mapping, repo) }))

export const handler = observed(handle(app))
