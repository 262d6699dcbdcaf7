/** A check name (POST /v1/deploys/verify, a promote path's requireChecks): it ends up in a commit trailer and a file key. */
export const CHECK_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}$/
