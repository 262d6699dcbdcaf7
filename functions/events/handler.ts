/**
 * Lambda entry for EventBridge (async invoke). Thin: the mapping is compiled
 * in and validated at module load (a broken mapping fails INIT loudly);
 * dependencies are built from the environment on the first event; at module
 * load the only network is the connection warm-up, which never fails INIT.
 */
import mappingDocument from '../../config/deploy-mapping.json' with { type: 'json' }
import { createEventsHandler } from './app.js'
import { buildEventsDeps } from './deps.js'
import { observed } from '../lib/observability/invocation.js'
import { loadMapping } from './mapping.js'
import { warmUpConnections } from '../lib/lambda/warm-up.js'

// Opens the state table and githosted connections while INIT finishes; never fails INIT.
warmUpConnections(process.env)

const mapping = loadMapping(mappingDocument)

export const handler = observed(createEventsHandler(() => buildEventsDeps(process.env, mapping)))
