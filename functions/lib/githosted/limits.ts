/** githosted clamps ExchangeToken TTLs to 24 h: no policy may grant more, and asking for more is a mistake worth reporting. */
export const MAX_TOKEN_TTL_SECONDS = 24 * 3600
