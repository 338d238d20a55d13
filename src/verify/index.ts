/**
 * `gatehouse-auth/verify`: check Gatehouse access tokens in another Node service, using only the
 * public keys Gatehouse publishes at `/.well-known/jwks.json`. Depends on `jose` alone, so
 * importing it loads none of the server.
 *
 * @example
 * import { createVerifier, bearerToken, InvalidAccessTokenError } from 'gatehouse-auth/verify';
 *
 * const verifier = createVerifier({
 *   jwksUrl: 'https://auth.example.com/.well-known/jwks.json',
 *   issuer: 'https://auth.example.com',
 * });
 *
 * async function userOf(authorization: string | undefined) {
 *   try {
 *     return await verifier.verify(bearerToken(authorization) ?? ''); // claims.sub is the user id
 *   } catch (error) {
 *     if (error instanceof InvalidAccessTokenError) return null; // 401, WWW-Authenticate: Bearer error="invalid_token"
 *     throw error; // KeySetUnavailableError: Gatehouse unreachable, answer 503
 *   }
 * }
 *
 * What it cannot know: a token stays valid here until it expires (at most ACCESS_TOKEN_TTL,
 * 15 minutes by default) even after its user logs out or is disabled in Gatehouse. Services that
 * must see revocation sooner ask Gatehouse (`GET /api/me` with the token).
 */
import { createRemoteJWKSet, errors as joseErrors, jwtVerify } from 'jose';

/** The algorithms Gatehouse signs with. Anything else (`none`, HS256…) is refused before any key is used. */
export const GATEHOUSE_ALGORITHMS = ['EdDSA', 'ES256'] as const;
export type GatehouseAlgorithm = (typeof GATEHOUSE_ALGORITHMS)[number];

export interface VerifierOptions {
  /** Where Gatehouse publishes its keys: `<PUBLIC_URL>/.well-known/jwks.json`. */
  jwksUrl: string | URL;
  /** Gatehouse's PUBLIC_URL (a trailing slash is ignored). Tokens from any other issuer are refused. */
  issuer: string;
  /** Required when Gatehouse sets ACCESS_TOKEN_AUDIENCE: the `aud` value(s) to accept. */
  audience?: string | string[];
  /** Narrow the accepted algorithms further (default: EdDSA and ES256). */
  algorithms?: readonly GatehouseAlgorithm[];
  /** Allowed clock skew for `exp`/`iat`, seconds (default 5). */
  clockToleranceSeconds?: number;
  /** Current time in ms since the epoch; defaults to Date.now (tests inject a fake). */
  clock?: () => number;
  /** How long fetched keys are trusted before a refetch, ms (default 10 minutes). */
  cacheMaxAgeMs?: number;
  /** Minimum time between refetches triggered by an unknown `kid` (a key just rotated in), ms (default 5 s). */
  cooldownMs?: number;
  /** Timeout for fetching the key set, ms (default 5 s). */
  timeoutMs?: number;
}

/** The claims of a verified Gatehouse access token. */
export interface AccessTokenClaims {
  /** The user id, as a string. */
  sub: string;
  /** The login (refresh-token family) the token belongs to. */
  sid: string;
  jti: string;
  iss: string;
  iat: number;
  exp: number;
  aud?: string | string[];
  [claim: string]: unknown;
}

/** The token is not a valid, current Gatehouse access token: answer 401. */
export class InvalidAccessTokenError extends Error {
  readonly code = 'invalid_token';
  constructor(
    message: string,
    /** jose's error code, for logs (ERR_JWT_EXPIRED, ERR_JWS_SIGNATURE_VERIFICATION_FAILED…). */
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'InvalidAccessTokenError';
  }
}

/** The key set could not be fetched or read: the token was not judged; answer 503, not 401. */
export class KeySetUnavailableError extends Error {
  readonly code = 'unavailable';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'KeySetUnavailableError';
  }
}

export interface Verifier {
  /** Resolve to the token's claims, or reject with InvalidAccessTokenError / KeySetUnavailableError. */
  verify(token: string): Promise<AccessTokenClaims>;
}

/** Errors that say the token itself is bad, as opposed to the key set being unreachable. */
const TOKEN_ERRORS = [
  joseErrors.JWTExpired,
  joseErrors.JWTClaimValidationFailed,
  joseErrors.JWTInvalid,
  joseErrors.JWSInvalid,
  joseErrors.JWSSignatureVerificationFailed,
  joseErrors.JOSEAlgNotAllowed,
  joseErrors.JOSENotSupported,
  joseErrors.JWKSNoMatchingKey,
  joseErrors.JWKSMultipleMatchingKeys,
  joseErrors.JWKInvalid,
];

/**
 * A verifier bound to one Gatehouse. Create it once and reuse it: it caches the key set and
 * refetches when a token names a key it has not seen (after a key rotation).
 */
export function createVerifier(options: VerifierOptions): Verifier {
  const issuer = options.issuer.replace(/\/+$/, '');
  const algorithms = [...(options.algorithms ?? GATEHOUSE_ALGORITHMS)];
  if (algorithms.length === 0 || algorithms.some((alg) => !(GATEHOUSE_ALGORITHMS as readonly string[]).includes(alg))) {
    throw new TypeError(`algorithms must be a non-empty subset of ${GATEHOUSE_ALGORITHMS.join(', ')}`);
  }
  const clock = options.clock ?? Date.now;
  const keySet = createRemoteJWKSet(new URL(options.jwksUrl), {
    cacheMaxAge: options.cacheMaxAgeMs ?? 600_000,
    cooldownDuration: options.cooldownMs ?? 5_000,
    timeoutDuration: options.timeoutMs ?? 5_000,
  });

  return {
    async verify(token: string): Promise<AccessTokenClaims> {
      if (typeof token !== 'string' || token.length === 0 || token.length > 4096) {
        throw new InvalidAccessTokenError('No token, or not a token.', 'ERR_JWT_INVALID');
      }
      try {
        const { payload } = await jwtVerify(token, keySet, {
          algorithms,
          issuer,
          typ: 'at+jwt',
          clockTolerance: options.clockToleranceSeconds ?? 5,
          currentDate: new Date(clock()),
          requiredClaims: ['sub', 'sid', 'jti', 'iat', 'exp'],
          ...(options.audience !== undefined ? { audience: options.audience } : {}),
        });
        if (typeof payload.sub !== 'string' || typeof payload.sid !== 'string' || typeof payload.jti !== 'string') {
          throw new InvalidAccessTokenError('The token lacks Gatehouse claims.', 'ERR_JWT_CLAIM_VALIDATION_FAILED');
        }
        return payload as AccessTokenClaims;
      } catch (error) {
        if (error instanceof InvalidAccessTokenError) throw error;
        if (TOKEN_ERRORS.some((kind) => error instanceof kind)) {
          const code = (error as InstanceType<typeof joseErrors.JOSEError>).code;
          throw new InvalidAccessTokenError('The token is invalid or has expired.', code, { cause: error });
        }
        throw new KeySetUnavailableError(`Could not fetch the key set from ${String(options.jwksUrl)}.`, { cause: error });
      }
    },
  };
}

/**
 * The token in an `Authorization: Bearer …` header, or null when there is none.
 *
 * @example bearerToken('Bearer eyJhbGciOi…') // 'eyJhbGciOi…'
 */
export function bearerToken(authorization: string | undefined | null): string | null {
  const match = /^Bearer +([A-Za-z0-9._~+/-]+=*) *$/i.exec(authorization ?? '');
  return match?.[1] ?? null;
}
