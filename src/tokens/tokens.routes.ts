import formbody from '@fastify/formbody';
import { Type } from 'typebox';
import type { Static } from 'typebox';
import { verifyCredentials } from '../accounts/accounts.service.js';
import { recordAudit } from '../audit/audit.repo.js';
import type { AppContext } from '../context.js';
import type { GatehouseApp } from '../server/app.js';
import { ipRateLimit } from '../server/plugins/rate-limit.js';
import { requestMeta } from '../server/request-meta.js';
import { errorResponses } from '../server/schemas.js';
import { isoNow } from '../storage/database.js';

const TokenPairSchema = Type.Object(
  {
    access_token: Type.String({ description: 'JWT, verifiable with /.well-known/jwks.json' }),
    refresh_token: Type.String({ description: 'Opaque; single use (rotates on every refresh)' }),
    token_type: Type.Literal('Bearer'),
    expires_in: Type.Integer({ description: 'Access token lifetime in seconds' }),
  },
  { $id: 'TokenPair' },
);

const CredentialsBody = Type.Object({ username: Type.String({ maxLength: 1024 }), password: Type.String({ maxLength: 1024 }) });
const RefreshBody = Type.Object({ refresh_token: Type.String({ minLength: 1, maxLength: 1024 }) });
const RevokeBody = Type.Object({
  token: Type.String({ minLength: 1, maxLength: 8192 }),
  token_type_hint: Type.Optional(Type.String({ maxLength: 64 })),
});

/** POST /api/token, /api/token/refresh, /api/token/revoke and the JWKS document. */
export async function tokenRoutes(app: GatehouseApp, { ctx }: { ctx: AppContext }): Promise<void> {
  app.addSchema(TokenPairSchema);
  const pair = { 200: Type.Ref('TokenPair') };

  app.post(
    '/api/token',
    {
      config: { access: 'public', rateLimit: ipRateLimit(ctx.config) },
      schema: {
        summary: 'Trade a username (or email) and password for an access and a refresh token',
        tags: ['tokens'],
        body: CredentialsBody,
        response: { ...pair, ...errorResponses(400, 401, 413, 415, 422, 429, 503) },
      },
    },
    async (request) => {
      const body = request.body as Static<typeof CredentialsBody>;
      const meta = requestMeta(request);
      const user = await verifyCredentials(ctx, body.username, body.password, meta);
      const tokens = await ctx.tokens.issue(user, meta);
      await recordAudit(ctx.db, { event: 'login_succeeded', userId: user.id, username: user.username, detail: { via: 'token' }, ...meta }, isoNow(ctx.clock));
      return tokens;
    },
  );

  app.post(
    '/api/token/refresh',
    {
      config: { access: 'public', rateLimit: ipRateLimit(ctx.config) },
      schema: {
        summary: 'Exchange a refresh token for a new pair (the old one is spent)',
        description: `A spent token presented again within REFRESH_REUSE_GRACE_SECONDS (default ${ctx.config.refreshReuseGraceSeconds}) gets another working pair of the same login; after that, reuse revokes the whole login.`,
        tags: ['tokens'],
        body: RefreshBody,
        response: { ...pair, ...errorResponses(400, 401, 413, 415, 422, 429) },
      },
    },
    async (request) => ctx.tokens.refresh((request.body as Static<typeof RefreshBody>).refresh_token, requestMeta(request)),
  );

  await app.register(async (forms) => {
    await forms.register(formbody, { bodyLimit: ctx.config.bodyLimit });
    forms.post(
      '/api/token/revoke',
      {
        config: { access: 'public', rateLimit: ipRateLimit(ctx.config) },
        schema: {
          summary: 'Revoke a refresh token (ends its login) or an access token (RFC 7009); JSON or form',
          tags: ['tokens'],
          body: RevokeBody,
          response: { 200: Type.Object({}), ...errorResponses(400, 413, 415, 422, 429) },
        },
      },
      async (request) => {
        await ctx.tokens.revoke((request.body as Static<typeof RevokeBody>).token, requestMeta(request));
        return {};
      },
    );
  });

  app.get(
    '/.well-known/jwks.json',
    {
      config: { access: 'public' },
      schema: { summary: 'Public keys that verify access tokens', tags: ['tokens'] },
    },
    async (_request, reply) => {
      // Short enough that a rotated key reaches verifiers well within an access token's lifetime.
      reply.header('Cache-Control', 'public, max-age=300, stale-while-revalidate=60');
      return { keys: await ctx.tokens.keys.publicJwks() };
    },
  );
}
