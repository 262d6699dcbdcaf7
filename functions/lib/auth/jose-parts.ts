/**
 * The parts of jose the broker uses, re-exported from one module so the lazy
 * chunk that loadJose() imports keeps esbuild's tree shaking (a dynamic
 * import of 'jose' itself would pull in the whole package).
 */
export { createRemoteJWKSet, customFetch, decodeJwt, decodeProtectedHeader, errors, jwtVerify } from 'jose'
