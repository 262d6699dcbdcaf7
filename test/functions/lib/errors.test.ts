import { describe, expect, it } from 'vitest'
import * as events from '../../../functions/events/parse.js'
import * as auth from '../../../functions/lib/auth/errors.js'
import * as deadline from '../../../functions/lib/deadline.js'
import * as deploys from '../../../functions/lib/deploys/errors.js'
import * as promote from '../../../functions/lib/deploys/promote.js'
import * as verify from '../../../functions/lib/deploys/verify.js'
import * as edge from '../../../functions/lib/edge/errors.js'
import * as base from '../../../functions/lib/errors.js'
import { AppError, ValidationError } from '../../../functions/lib/errors.js'
import * as githosted from '../../../functions/lib/githosted/errors.js'
import { CONNECT_CODE_NAMES, githostedError, GithostedError, GithostedTimeoutError, StaleHeadError } from '../../../functions/lib/githosted/errors.js'
import * as network from '../../../functions/lib/githosted/network-error.js'
import * as dynamodb from '../../../functions/lib/state/dynamodb.js'
import * as lease from '../../../functions/lib/state/lease.js'

const MODULES = { base, auth, deadline, deploys, promote, verify, edge, events, githosted, network, dynamodb, lease }

// Families whose code is their subclasses'; they cannot be constructed.
const ABSTRACT = new Set<unknown>([AppError, auth.AuthFailedError, GithostedError, promote.PromotionGateError])

type ErrorClass = (abstract new (...args: never[]) => AppError) & { code: string }

const appErrorClasses: Array<[string, ErrorClass]> = Object.values(MODULES).flatMap((m) =>
  Object.entries(m).filter((e): e is [string, ErrorClass] => typeof e[1] === 'function' && e[1].prototype instanceof AppError),
)

describe('error codes', () => {
  it('finds the error classes (the list below is not empty by accident)', () => {
    expect(appErrorClasses.length).toBeGreaterThan(50)
  })

  it.each(appErrorClasses.filter(([, c]) => !ABSTRACT.has(c)))('%s declares its own static code', (_name, cls) => {
    expect(Object.hasOwn(cls, 'code')).toBe(true)
    expect(cls.code).toMatch(/^[A-Z][A-Z0-9_]*[A-Z0-9]$/)
  })

  it('an instance carries its class code as an own, enumerable property', () => {
    const err = new ValidationError('bad', 'field')
    expect(err.code).toBe(ValidationError.code)
    expect(err.code).toBe('VALIDATION_FAILED')
    expect(Object.keys(err)).toContain('code')
    expect(err.name).toBe('ValidationError')
  })

  it('a subclass instance has the subclass code, not its parent one', () => {
    const err = new StaleHeadError('stale', { connectCode: 'failed_precondition', procedure: 'p' }, { repoId: 'r', ref: 'main', expectedHead: 'a', actualHead: 'b' })
    expect(err).toBeInstanceOf(GithostedError)
    expect(err.code).toBe('GITHOSTED_STALE_HEAD')
  })

  it.each(CONNECT_CODE_NAMES.map((c) => [c]))('githostedError(%s) picks the class with the GITHOSTED_ code of the Connect code', (connectCode) => {
    const err = githostedError('m', { connectCode, procedure: 'p' })
    expect(err).toBeInstanceOf(GithostedError)
    expect(err.connectCode).toBe(connectCode)
    expect(err.code).toBe(connectCode === 'deadline_exceeded' ? GithostedTimeoutError.code : `GITHOSTED_${connectCode.toUpperCase()}`)
    expect(err.code).toBe((err.constructor as unknown as ErrorClass).code)
  })
})
