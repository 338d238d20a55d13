import formbody from '@fastify/formbody';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { FastifyReply } from 'fastify';
import type { LoginService } from '../accounts/login.service.js';
import { SECOND_STEP_REFUSED } from '../mfa/mfa.service.js';
import type { Config } from '../config.js';
import { InvalidCredentialsError, ValidationError } from '../errors.js';
import type { RoutePlugin } from '../server/http.js';
import { ipRateLimit } from '../server/plugins/rate-limit.js';
import { requestMeta } from '../server/request-meta.js';
import { errorResponses, MfaRequiredRef, mfaRequiredJson, MfaStepBody } from '../server/schemas.js';
import type { KeyRing } from './keys.js';
import { JWKS_MAX_AGE_SECONDS } from './keys.js';
import type { TokenService } from './tokens.service.js';

const TokenPairSchema = Type.Object(
  {
    access_token: Type.String({ description: 'JWT (EdDSA or ES256, with a `kid`); send as `Authorization: Bearer …`. Verifiable with /.well-known/jwks.json.' }),
    refresh_token: Type.String({ description: 'Opaque; trade it at /api/token/refresh. Single use: every refresh returns a new one.' }),
    token_type: Type.Literal('Bearer'),
    expires_in: Type.Integer({ description: 'Access token lifetime in seconds (ACCESS_TOKEN_TTL)' }),
  },
  { description: 'RFC 6749 token response, sent with Cache-Control: no-store.' },
);

const CredentialsBody = Type.Object({
  username: Type.String({ maxLength: 1024, description: 'Username or email' }),
  password: Type.String({ maxLength: 1024 }),
});
const RefreshBody = Type.Object({ refresh_token: Type.String({ minLength: 1, maxLength: 1024 }) });
const RevokeBody = Type.Object({
  token: Type.String({ minLength: 1, maxLength: 8192, description: 'A refresh token or an access token' }),
  token_type_hint: Type.Optional(Type.String({ maxLength: 64, description: 'Accepted and ignored: both kinds are recognised' })),
});

const JwksSchema = Type.Object({
  keys: Type.Array(
    Type.Object(
      {
        kty: Type.String(),
        kid: Type.String(),
        alg: Type.String(),
        use: Type.String(),
        crv: Type.String(),
        x: Type.String(),
        y: Type.Optional(Type.String()),
      },
      { additionalProperties: false },
    ),
  ),
});

/** RFC 6749 §5.1: token responses must not be stored by any cache. */
function noStore(reply: FastifyReply): void {
  reply.header('Cache-Control', 'no-store');
  reply.header('Pragma', 'no-cache');
}

/** POST /api/token, /api/token/refresh, /api/token/revoke and the JWKS document. */
export interface TokenRoutesOptions {
  config: Pick<Config, 'accessTokenTtl' | 'refreshTokenTtl' | 'refreshReuseGraceSeconds' | 'bodyLimit' | 'rateLimits' | 'rateLimitPerIp'>;
  logins: LoginService;
  tokens: TokenService;
  keys: KeyRing;
}

export const tokenRoutes: RoutePlugin<TokenRoutesOptions> = async (app, { config, logins, tokens, keys }) => {
  const pair = { 200: TokenPairSchema };
  const { accessTokenTtl, refreshTokenTtl, refreshReuseGraceSeconds } = config;

  app.post(
    '/api/token',
    {
      config: { access: 'public', rateLimit: ipRateLimit(config) },
      schema: {
        summary: 'Log in as an external client: trade a username (or email) and password for tokens',
        description:
          `Starts a login for a client that cannot use cookies. The access token lasts ${accessTokenTtl} s; the refresh token ` +
          `(valid up to ${refreshTokenTtl} s after this login) gets new pairs from /api/token/refresh. Unknown user, wrong ` +
          'password and disabled user all give the same 401; failures count towards LOGIN_FAILURES_PER_ACCOUNT (then 429).',
        tags: ['tokens'],
        body: CredentialsBody,
        response: { 200: Type.Union([TokenPairSchema, MfaRequiredRef]), ...errorResponses(400, 401, 403, 413, 415, 422, 429, 503) },
      },
    },
    async (request, reply) => {
      const { username, password } = request.body;
      const outcome = await logins.logInForTokens({ identifier: username, password }, requestMeta(request));
      noStore(reply);
      if (!outcome.ok && outcome.reason === 'mfa_required') return mfaRequiredJson(outcome.challenge);
      if (!outcome.ok) throw new InvalidCredentialsError();
      return outcome.credential;
    },
  );

  app.post(
    '/api/token/mfa',
    {
      config: { access: 'public', rateLimit: ipRateLimit(config) },
      schema: {
        summary: 'The second step of a token login: the mfa_token from POST /api/token and a code (or recovery code)',
        description: 'Neither code: 422. Wrong code, spent or expired mfa_token: 401 invalid_credentials. MFA_FAILURES_PER_ACCOUNT wrong codes: 429 at this step.',
        tags: ['tokens'],
        body: MfaStepBody,
        response: { ...pair, ...errorResponses(400, 401, 413, 415, 422, 429, 503) },
      },
    },
    async (request, reply) => {
      const { mfa_token: mfaToken, code, recovery_code: recoveryCode } = request.body;
      // As at /login/mfa: a blank field is no code (422 when both are), never a wrong one that counts.
      const proof = { code: code?.trim() ? code : undefined, recovery_code: recoveryCode?.trim() ? recoveryCode : undefined };
      if (proof.code === undefined && proof.recovery_code === undefined) throw new ValidationError({ code: 'Enter the code from your authenticator app, or a recovery code.' });
      const outcome = await logins.completeMfaForTokens(mfaToken, proof, requestMeta(request));
      if (!outcome.ok) throw new InvalidCredentialsError(SECOND_STEP_REFUSED);
      noStore(reply);
      return outcome.credential;
    },
  );

  app.post(
    '/api/token/refresh',
    {
      config: { access: 'public', rateLimit: ipRateLimit(config) },
      schema: {
        summary: 'Exchange a refresh token for a new pair (the old refresh token is spent)',
        description:
          `Call it when the API answers 401 invalid_token. A spent token presented again within REFRESH_REUSE_GRACE_SECONDS ` +
          `(${refreshReuseGraceSeconds} s) gets another working pair of the same login, so concurrent refreshes are safe; ` +
          'after that, reuse is treated as theft: 401 and the whole login (every refresh and access token of it) is revoked.',
        tags: ['tokens'],
        body: RefreshBody,
        response: { ...pair, ...errorResponses(400, 401, 413, 415, 422, 429) },
      },
    },
    async (request, reply) => {
      const refreshed = await tokens.refresh(request.body.refresh_token, requestMeta(request));
      noStore(reply);
      return refreshed;
    },
  );

  await app.register(async (scope) => {
    const forms = scope.withTypeProvider<TypeBoxTypeProvider>();
    await forms.register(formbody, { bodyLimit: config.bodyLimit });
    forms.post(
      '/api/token/revoke',
      {
        config: { access: 'public', rateLimit: ipRateLimit(config) },
        schema: {
          summary: 'Log an external client out: revoke a refresh or access token (RFC 7009)',
          description:
            'JSON or application/x-www-form-urlencoded. Either token ends the whole login it belongs to: its refresh tokens ' +
            'and, within 1 s on every instance, its access tokens. Always 200, also for an unknown or already revoked token.',
          tags: ['tokens'],
          body: RevokeBody,
          response: { 200: Type.Object({}), ...errorResponses(400, 413, 415, 422, 429) },
        },
      },
      async (request) => {
        await tokens.revoke(request.body.token, requestMeta(request));
        return {};
      },
    );
  });

  app.get(
    '/.well-known/jwks.json',
    {
      config: { access: 'public' },
      schema: {
        summary: 'Public keys that verify access tokens (RFC 7517)',
        description:
          'Every key that may have signed an unexpired token. After a rotation the old key stays listed until ' +
          'ACCESS_TOKEN_TTL + 60 s have passed. Verifiers should refetch when they meet an unknown `kid`.',
        tags: ['tokens'],
        response: { 200: JwksSchema },
      },
    },
    async (_request, reply) => {
      reply.header('Cache-Control', `public, max-age=${JWKS_MAX_AGE_SECONDS}`);
      return { keys: await keys.publicJwks() };
    },
  );
};
