/**
 * Lambda entry for the status API and dashboard (API Gateway HTTP API,
 * payload 2.0). Thin on purpose: the policy is compiled in at build time,
 * dependencies are built from the environment on the first request (so a
 * misconfiguration is a 500 problem naming the variable, not an INIT crash),
 * and nothing touches the network at module load.
 */
import { handle } from 'hono/aws-lambda'
import policyDocument from '../../config/policy.yaml'
import { observed } from '../lib/observability/invocation.js'
import { loadPolicy } from '../lib/policy/index.js'
import { createStatusApp } from './app.js'
import { buildStatusDeps } from './deps.js'

const app = createStatusApp(() => buildStatusDeps(process.env, loadPolicy(policyDocument)))

export const handler = observed(handle(app))
