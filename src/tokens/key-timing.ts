/**
 * How long `keys rotate` publishes a new key in the JWKS before it signs. A verifier that honours
 * the JWKS max-age may hold a copy fetched from an instance that had not reloaded yet: up to
 * RELOAD_INTERVAL_MS + JWKS_MAX_AGE_SECONDS (330 s) old. 15 minutes also outlasts the 10-minute
 * key-set cache of jose's createRemoteJWKSet and of `gatehouse-auth/verify`, and a verifier that
 * refetches on an unknown `kid` at most every 5 minutes, so no verifier meets a token whose key it
 * has not been able to fetch.
 */
export const PUBLISH_BEFORE_SIGNING_SECONDS = 900;
