/**
 * Turns a GetSecretValue `SecretString` into the value a function uses, the
 * same way for every way of reading it (SDK or Lambda extension). Messages
 * name the label and the JSON key, never the value.
 */
import { ConfigError } from '../errors.js'

/** The trimmed SecretString, or its string `jsonKey` when one is asked for. */
export function secretValue(raw: unknown, label: string, jsonKey?: string): string {
  if (typeof raw !== 'string' || raw.length === 0) {
    throw new ConfigError(`The ${label} secret has no SecretString; store the value as a string.`)
  }
  if (!jsonKey) return raw.trim()
  let parsed: unknown
  try {
    parsed = JSON.parse(raw)
  } catch {
    throw new ConfigError(`The ${label} secret is not JSON but a key (${jsonKey}) was requested.`)
  }
  const v = (parsed as Record<string, unknown> | null)?.[jsonKey]
  if (typeof v !== 'string' || v.length === 0) {
    throw new ConfigError(`The ${label} secret has no string key "${jsonKey}".`)
  }
  return v.trim()
}
