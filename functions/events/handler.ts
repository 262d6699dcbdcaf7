/**
 * Lambda entry for EventBridge (async invoke). Thin: the mapping is compiled
 * in and validated at module load (a broken mapping fails INIT loudly);
 * dependencies are built from the environment on the first event; nothing
 * touches the network at module load.
 */
import mappingDocument from '../../config/deploy-mapping.json' with { type: 'json' }
import { createEventsHandler } from './app.js'
import { buildEventsDeps } from './deps.js'
import { observed } from '../lib/observability/invocation.js'
import { loadMapping } from './mapping.js'

const mapping = loadMapping(mappingDocument)

export const handler = observed(createEventsHandler(() => buildEventsDeps(process.env, mapping)))
