/**
 * Lambda entry for the token endpoints (API Gateway HTTP API, payload 2.0).
 * Thin on purpose: the policy is compiled in at build time, dependencies are
 * built from the environment on the first request (so a misconfiguration is
 * a 500 problem naming the variable, not an INIT crash), and at module load
 * the only network is the connection warm-up, which never fails INIT.
 */
import { handle } from 'hono/aws-lambda'
import builtPolicy from '../../config/policy.yaml'
import { observed } from '../lib/observability/invocation.js'
import { policyFromBuild } from '../lib/policy/compiled.js'
import { createTokenApp } from './app.js'
import { buildTokenDeps } from './deps.js'
import { warmUpConnections } from '../lib/lambda/warm-up.js'

// Opens the state table and githosted connections while INIT finishes; never fails INIT.
warmUpConnections(process.env)

const app = createTokenApp(() => buildTokenDeps(process.env, policyFromBuild(builtPolicy)))

export const handler = observed(handle(app))
