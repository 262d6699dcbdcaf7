/**
 * jose, loaded on first use: only OIDC verification needs it, so a function
 * serving a broker-key request (or no authenticated request at all) never
 * pays for its import at INIT. The bundler puts it in a lazy chunk.
 */
export type Jose = typeof import('./jose-parts.js')

let pending: Promise<Jose> | undefined

export function loadJose(): Promise<Jose> {
  return (pending ??= import('./jose-parts.js'))
}
