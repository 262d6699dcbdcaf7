/**
 * Reads a proto3 JSON message from the wire without protobuf-es's reflection
 * runtime. `T` is the generated `XxxJson` type of the message, so every key
 * read is checked against the schema at compile time; the values themselves
 * are checked at run time, because the server is not us.
 *
 * proto3 JSON rules applied (what a conforming parser must accept):
 * - a missing key or `null` is the field's default ('' / false / [] / 0 / none);
 * - keys may be lowerCamelCase (what servers emit) or the original snake_case:
 *   the snake_case lookup only happens when the camelCase key is missing;
 * - enums may be the value's name or its number; an unknown name reads as 0
 *   (unspecified), as with `ignoreUnknownFields`;
 * - bytes are base64 (std or URL-safe, padded or not), timestamps RFC 3339;
 * - unknown keys are ignored, so a newer server never breaks us.
 * A value of the wrong type throws JsonShapeError (the caller reports a bad response).
 */
import { decodeBase64 } from './base64.js'
import { parseTimestamp } from './timestamp.js'

/** Keys of `T` whose JSON value is a `V`. */
type KeysOf<T, V> = { [K in keyof T]-?: NonNullable<T[K]> extends V ? K : never }[keyof T] & string
type MessageKeys<T> = {
  [K in keyof T]-?: NonNullable<T[K]> extends readonly unknown[] | string | number | boolean
    ? never
    : K
}[keyof T] &
  string
type Element<A> = A extends readonly (infer E)[] ? E : never

/** A response did not have the shape its schema promises. */
export class JsonShapeError extends Error {
  override name = 'JsonShapeError'
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function snake(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)
}

/** Checked, schema-typed reads of one proto3 JSON message (`T` is its `XxxJson` type). */
export class JsonReader<T> {
  private readonly json: Record<string, unknown>

  /** Throws JsonShapeError unless `json` is a JSON object. `at` prefixes error paths. */
  constructor(
    json: unknown,
    private readonly at = '',
  ) {
    if (!isObject(json)) {
      throw new JsonShapeError(`${at.slice(0, -1) || 'message'}: expected an object`)
    }
    this.json = json
  }

  private get(key: string): unknown {
    const v = this.json[key] ?? this.json[snake(key)]
    return v === null ? undefined : v
  }

  private fail(key: string, expected: string): never {
    throw new JsonShapeError(`${this.at}${key}: expected ${expected}`)
  }

  private typed<V>(key: string, type: string, fallback: V): V {
    const v = this.get(key)
    if (v === undefined) return fallback
    if (typeof v !== type) this.fail(key, type)
    return v as V
  }

  string(key: KeysOf<T, string>): string {
    return this.typed(key, 'string', '')
  }

  bool(key: KeysOf<T, boolean>): boolean {
    return this.typed(key, 'boolean', false)
  }

  bytes(key: KeysOf<T, string>): Uint8Array {
    try {
      return decodeBase64(this.string(key))
    } catch (err) {
      if (err instanceof JsonShapeError) throw err
      return this.fail(key, 'base64')
    }
  }

  /** google.protobuf.Timestamp; undefined when absent. */
  timestamp(key: KeysOf<T, string>): Date | undefined {
    const s = this.string(key)
    if (s === '') return undefined
    try {
      return parseTimestamp(s)
    } catch {
      return this.fail(key, 'an RFC 3339 timestamp')
    }
  }

  /**
   * An enum's number. `names` lists the enum's value names by number (our
   * enums are dense from 0); an unknown name reads as 0.
   */
  enum<K extends KeysOf<T, string>>(key: K, names: readonly NonNullable<T[K]>[]): number {
    const v = this.get(key)
    if (v === undefined) return 0
    if (typeof v === 'string') return Math.max(0, names.indexOf(v as NonNullable<T[K]>))
    if (typeof v === 'number' && Number.isInteger(v)) return v
    return this.fail(key, 'an enum name or number')
  }

  strings(key: KeysOf<T, readonly string[]>): string[] {
    return this.list(key).map((v, i) =>
      typeof v === 'string' ? v : this.fail(`${key}[${i}]`, 'string'),
    )
  }

  /** A nested message; undefined when absent. */
  message<K extends MessageKeys<T>>(key: K): JsonReader<NonNullable<T[K]>> | undefined {
    const v = this.get(key)
    return v === undefined ? undefined : new JsonReader(v, `${this.at}${key}.`)
  }

  /** A repeated message field. */
  messages<K extends KeysOf<T, readonly object[]>>(
    key: K,
  ): JsonReader<Element<NonNullable<T[K]>>>[] {
    return this.list(key).map((v, i) => new JsonReader(v, `${this.at}${key}[${i}].`))
  }

  private list(key: string): unknown[] {
    const v = this.get(key)
    if (v === undefined) return []
    return Array.isArray(v) ? v : this.fail(key, 'an array')
  }
}
