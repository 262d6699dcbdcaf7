/**
 * The OpenAPI 3.1 document, built from the valibot schemas (schemas.ts) with
 * @valibot/to-json-schema (JSON Schema 2020-12, which OpenAPI 3.1 uses).
 * `npm run build` writes it to dist/openapi.json; the status function serves
 * it at GET /openapi.json, importing this module lazily so neither its own
 * nor the token function's cold start pays for it.
 */
import { toJsonSchemaDefs } from '@valibot/to-json-schema'
import { SCHEMAS } from './schemas.js'

type Json = Record<string, unknown>

const ref = (name: keyof typeof SCHEMAS) => ({ $ref: `#/components/schemas/${name}` })
const json = (name: keyof typeof SCHEMAS, description: string) => ({ description, content: { 'application/json': { schema: ref(name) } } })
const problem = { description: 'Error (RFC 9457); `code` is stable.', content: { 'application/problem+json': { schema: ref('Problem') } } }
const query = (name: string, description: string, required = false, schema: Json = { type: 'string' }) => ({ name, in: 'query', required, description, schema })
const body = (name: keyof typeof SCHEMAS) => ({ required: true, content: { 'application/json': { schema: ref(name) } } })
const bearer = [{ bearer: [] }]

/** Every operation: its own responses, and problem+json for any other status (404, 405, 413, 429, 5xx, ...). */
const op = (summary: string, responses: Json, extra: Json = {}) => ({ summary, ...extra, responses: { ...responses, default: problem } })

function paths(): Json {
  return {
    '/healthz': { get: op('Liveness', { 200: json('Health', 'Up') }) },
    '/ci/token': {
      post: {
        summary: 'Seed-compatible mint (githosted "CI token scoping" example); the body is JSON whatever its content type',
        security: bearer,
        requestBody: { required: true, content: { 'application/json': { schema: ref('CiTokenRequest') }, 'application/x-www-form-urlencoded': { schema: ref('CiTokenRequest') } } },
        responses: {
          200: { description: 'The bare gr_ token, no newline', content: { 'text/plain': { schema: { type: 'string', pattern: '^gr_' } } } },
          default: { description: 'One line: `error: <message> (<CODE>, request <id>)`', content: { 'text/plain': { schema: { type: 'string', pattern: '^error: ' } } } },
        },
      },
    },
    '/v1/tokens': {
      post: op(
        'Mint a repo-scoped githosted token (or, with dryRun, explain the policy decision)',
        { 201: json('MintedToken', 'Minted'), 200: json('TokenExplanation', 'dryRun=true: the decision, nothing minted') },
        { security: bearer, parameters: [query('dryRun', 'true or 1: explain only')], requestBody: body('TokenRequest') },
      ),
    },
    '/v1/tokens/{tokenId}': {
      delete: op('Revoke a token this identity minted', { 204: { description: 'Revoked' } }, {
        security: bearer,
        parameters: [{ name: 'tokenId', in: 'path', required: true, schema: { type: 'string' } }],
      }),
    },
    '/v1/deploys': {
      post: op('Apply a deploy-config change (image or keys) with the policy check', { 200: json('DeployResult', 'Applied, already in place, or dry run') }, {
        security: bearer,
        parameters: [{ name: 'idempotency-key', in: 'header', schema: { type: 'string' } }],
        requestBody: body('DeployRequest'),
      }),
    },
    '/v1/deploys/rollback': {
      post: op('Roll an environment back (previous deploy, or the value at a commit)', { 200: json('DeployResult', 'Rolled back') }, {
        security: bearer,
        requestBody: body('RollbackRequest'),
      }),
    },
    '/v1/deploys/hold': {
      post: op('Hold an environment (deploys refused unless overridden)', { 200: json('HoldResult', 'Held') }, { security: bearer, requestBody: body('HoldRequest') }),
      delete: op('Release a hold', { 200: json('HoldResult', 'Released') }, {
        security: bearer,
        parameters: [query('repo', 'Repo slug', true), query('environment', 'Environment', true), query('reason', 'Why')],
      }),
    },
    '/v1/deploys/verify': {
      post: op('Record that a check passed against the value an environment runs (a promotion gate)', { 200: json('VerifyResult', 'Recorded, or already recorded') }, {
        security: bearer,
        requestBody: body('VerifyRequest'),
      }),
    },
    '/v1/promotions': {
      post: op('Promote what one environment runs (by digest) into another, through the policy gates', { 200: json('PromotionResult', 'Promoted, already in place, or dry run') }, {
        security: bearer,
        parameters: [{ name: 'idempotency-key', in: 'header', schema: { type: 'string' } }],
        requestBody: body('PromotionRequest'),
      }),
    },
    '/v1/status': {
      get: op('Deployment state of every environment', { 200: json('StatusReport', 'State'), 304: { description: 'Not modified (ETag)' } }, {
        security: bearer,
        parameters: [query('repo', 'Repo slug (default: the configured one)'), query('history', 'Deploys per environment, 0-20', false, { type: 'integer', minimum: 0, maximum: 20 })],
      }),
    },
    '/v1/status/{environment}/history': {
      get: op('Deploy history of one environment', { 200: json('HistoryReport', 'History'), 304: { description: 'Not modified (ETag)' } }, {
        security: bearer,
        parameters: [
          { name: 'environment', in: 'path', required: true, schema: { type: 'string' } },
          query('repo', 'Repo slug'),
          query('limit', 'Deploys, 1-100', false, { type: 'integer', minimum: 1, maximum: 100 }),
        ],
      }),
    },
    '/': { get: { summary: 'Dashboard (HTML; viewer credential or session cookie)', responses: { 200: { description: 'Page', content: { 'text/html': {} } }, default: { description: 'Error page', content: { 'text/html': {}, 'text/plain': {} } } } } },
    '/openapi.json': { get: { summary: 'This document', responses: { 200: { description: 'OpenAPI 3.1', content: { 'application/json': {} } } } } },
  }
}

/** Builds the document (deterministic: same schemas, same bytes). */
export function buildOpenApiDocument(version = '0.1.0'): Json {
  const defs = toJsonSchemaDefs(SCHEMAS, { target: 'draft-2020-12' }) as unknown as Record<string, Json>
  // Cross-references come out as JSON Schema $defs; OpenAPI keeps them under components.schemas.
  const schemas = JSON.parse(JSON.stringify(defs).replaceAll('"#/$defs/', '"#/components/schemas/')) as Record<string, Json>
  for (const s of Object.values(schemas)) delete s.$schema
  return {
    openapi: '3.1.0',
    info: {
      title: 'githosted-ci-broker',
      version,
      description: 'Short-lived, repo-scoped githosted tokens for CI callers, and policy-checked deploy-config updates. Any path not listed answers problem+json 404; a listed path with another method answers 405 with Allow.',
    },
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    paths: paths(),
    components: {
      schemas,
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'A CI OIDC ID token (JWT) or a broker key (gbk_...).' } },
    },
  }
}
