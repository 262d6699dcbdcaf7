/**
 * A small JSON Schema checker for environment files (the subset config
 * schemas use: type, enum, const, required, properties,
 * additionalProperties, items, min/maxLength, pattern, minimum/maximum,
 * min/maxItems). Keywords that combine or reference schemas ($ref, allOf,
 * anyOf, oneOf, not, if) are refused rather than ignored: a schema we cannot
 * fully check must not look like a pass. Annotations ($schema, title,
 * description, default, examples, $id, $comment) are ignored.
 */
import { isPlainObject, jsonEqual } from './json-values.js'

const UNSUPPORTED = ['$ref', '$defs', 'definitions', 'allOf', 'anyOf', 'oneOf', 'not', 'if', 'then', 'else', 'patternProperties', 'dependentSchemas']

function typeOf(v: unknown): string {
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'array'
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number'
  return typeof v
}

function matchesType(v: unknown, t: string): boolean {
  const actual = typeOf(v)
  return actual === t || (t === 'number' && actual === 'integer')
}

/** Returns human-readable violations (empty = valid). Throws on a schema we cannot check. */
export function checkSchema(schema: unknown, value: unknown, at = ''): string[] {
  if (schema === true || schema === undefined) return []
  if (schema === false) return [`${at || '/'}: not allowed by the schema`]
  if (!isPlainObject(schema)) throw new Error('the schema is not an object')
  for (const k of UNSUPPORTED) if (k in schema) throw new Error(`the schema uses "${k}", which this service does not support`)
  const errors: string[] = []
  const where = at || '/'
  if (schema.type !== undefined) {
    const types = Array.isArray(schema.type) ? (schema.type as string[]) : [schema.type as string]
    if (!types.some((t) => matchesType(value, t))) return [`${where}: expected ${types.join(' or ')}, got ${typeOf(value)}`]
  }
  if (Array.isArray(schema.enum) && !schema.enum.some((e) => jsonEqual(e, value))) errors.push(`${where}: not one of the allowed values`)
  if ('const' in schema && !jsonEqual(schema.const, value)) errors.push(`${where}: must be ${JSON.stringify(schema.const)}`)
  if (typeof value === 'string') {
    if (typeof schema.minLength === 'number' && value.length < schema.minLength) errors.push(`${where}: shorter than ${schema.minLength}`)
    if (typeof schema.maxLength === 'number' && value.length > schema.maxLength) errors.push(`${where}: longer than ${schema.maxLength}`)
    if (typeof schema.pattern === 'string' && !new RegExp(schema.pattern, 'u').test(value)) {
      errors.push(`${where}: does not match ${schema.pattern}`)
    }
  }
  if (typeof value === 'number') {
    if (typeof schema.minimum === 'number' && value < schema.minimum) errors.push(`${where}: less than ${schema.minimum}`)
    if (typeof schema.maximum === 'number' && value > schema.maximum) errors.push(`${where}: greater than ${schema.maximum}`)
  }
  if (Array.isArray(value)) {
    if (typeof schema.minItems === 'number' && value.length < schema.minItems) errors.push(`${where}: fewer than ${schema.minItems} items`)
    if (typeof schema.maxItems === 'number' && value.length > schema.maxItems) errors.push(`${where}: more than ${schema.maxItems} items`)
    if (schema.items !== undefined) value.forEach((v, i) => errors.push(...checkSchema(schema.items, v, `${at}/${i}`)))
  }
  if (isPlainObject(value)) {
    const props = isPlainObject(schema.properties) ? schema.properties : {}
    if (Array.isArray(schema.required)) {
      for (const r of schema.required as string[]) if (!Object.hasOwn(value, r)) errors.push(`${where}: missing required key "${r}"`)
    }
    for (const [k, v] of Object.entries(value)) {
      const child = `${at}/${k.replaceAll('~', '~0').replaceAll('/', '~1')}`
      if (Object.hasOwn(props, k)) errors.push(...checkSchema(props[k], v, child))
      else if (schema.additionalProperties !== undefined) errors.push(...checkSchema(schema.additionalProperties, v, child))
    }
  }
  return errors
}
