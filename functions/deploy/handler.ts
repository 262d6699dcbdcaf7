/**
 * Lambda entry for the deploy endpoints (API Gateway HTTP API, payload 2.0).
 * Thin on purpose: the policy is compiled in at build time, dependencies are
 * built from the environment on the first request, and nothing touches the
 * network at module load.
 */
import { handle } from 'hono/aws-lambda'
import policyDocument from '../../config/policy.yaml'
import { observed } from '../lib/observability/invocation.js'
import { loadPolicy } from '../lib/policy/index.js'
import { createDeployApp } from './app.js'
import { buildDeployDeps } from './deps.js'

const app = createDeployApp(() => buildDeployDeps(process.env, loadPolicy(policyDocument)))

export const handler = observed(handle(app))
