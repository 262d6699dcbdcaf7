/**
 * Lambda entry for the token endpoints (API Gateway HTTP API, payload 2.0).
 * Thin on purpose: the policy is compiled in at build time, dependencies are
 * built from the environment on the first request (so a misconfiguration is
 * a 500 problem naming the variable, not an INIT crash), and nothing
 * touches the network at module load.
 */
import { handle } from 'hono/aws-lambda'
import builtPolicy from '../../config/policy.yaml'
import { observed } from '../lib/observability/invocation.js'
import { policyFromBuild } from '../lib/policy/compiled.js'
import { createTokenApp } from './app.js'
import { buildTokenDeps } from './deps.js'

const app = createTokenApp(() => buildTokenDeps(process.env, policyFromBuild(builtPolicy)))

export const handler = observed(handle(app))
