/**
 * Where environment files and holds live in the config repo. The layout and
 * the name rules are the deploy core's (lib/deploys/change.ts), so the status
 * shows exactly the files deploys write.
 */
import {
  type ConfigLayout,
  DEFAULT_LAYOUT,
  environmentPath,
  validateEnvironmentName,
} from '../deploys/change.js'
import { ValidationError } from '../errors.js'

export type StatusLayout = ConfigLayout
export { DEFAULT_LAYOUT, environmentPath }

/** Validates an environment name from a URL; throws ValidationError (400). */
export function assertEnvironmentName(name: string): string {
  return validateEnvironmentName(name)
}

/** The environment a file name stands for, or undefined when it is not an environment file. */
export function environmentFromFileName(layout: StatusLayout, fileName: string): string | undefined {
  if (!fileName.endsWith(layout.extension)) return undefined
  const name = fileName.slice(0, -layout.extension.length)
  try {
    return validateEnvironmentName(name)
  } catch (err) {
    if (err instanceof ValidationError) return undefined
    throw err
  }
}
