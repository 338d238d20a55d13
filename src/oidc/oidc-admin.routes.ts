import { Type } from 'typebox';
import type { Config } from '../config.js';
import type { RoutePlugin } from '../server/http.js';
import { principal } from '../server/plugins/auth.js';
import { requestMeta } from '../server/request-meta.js';
import { errorResponses, PageQuery } from '../server/schemas.js';
import { clientJson, newClientJson } from './client-json.js';
import type { OidcService } from './oidc.service.js';

const Uri = Type.String({ minLength: 1, maxLength: 2000 });
const AuthMethod = Type.Union([Type.Literal('client_secret_basic'), Type.Literal('client_secret_post'), Type.Literal('none')], {
  description: '`client_secret_basic` (the default) or `client_secret_post` for an app with a server; `none` for a public client (a browser app or a CLI: PKCE only)',
});

const ClientBody = Type.Object({
  client_name: Type.String({ minLength: 1, maxLength: 200, description: 'Shown on the sign-in and consent pages' }),
  redirect_uris: Type.Array(Uri, { minItems: 1, maxItems: 20, description: 'Absolute URLs; an authorization request must name one of them exactly' }),
  post_logout_redirect_uris: Type.Optional(Type.Array(Uri, { maxItems: 20, description: 'Where RP-initiated logout may return to (exact match)' })),
  token_endpoint_auth_method: Type.Optional(AuthMethod),
  first_party: Type.Optional(Type.Boolean({ description: 'Your own app: users are never asked for consent (default false)' })),
});

const ClientFields = {
  client_id: Type.String(),
  client_name: Type.String(),
  redirect_uris: Type.Array(Type.String()),
  post_logout_redirect_uris: Type.Array(Type.String()),
  token_endpoint_auth_method: AuthMethod,
  first_party: Type.Boolean(),
  created_at: Type.String({ format: 'date-time' }),
};
const Client = Type.Object(ClientFields);
const NewClient = Type.Object({
  ...ClientFields,
  client_secret: Type.Optional(Type.String({ description: 'Shown this once (stored only as a hash); absent for `none`' })),
});
const ClientsPage = Type.Object({ items: Type.Array(Client, { description: 'Oldest first; never a secret' }), total: Type.Integer(), page: Type.Integer(), limit: Type.Integer() });
const ClientParams = Type.Object({ client_id: Type.String({ maxLength: 64 }) });

const Grant = Type.Object({
  client_id: Type.String(),
  client_name: Type.String(),
  scopes: Type.Array(Type.String(), { description: 'What the user let the app see (`openid`, `profile`, `email`, `offline_access`)' }),
  created_at: Type.String({ format: 'date-time', description: 'When the user first let the app in' }),
});

const security: Array<Record<string, string[]>> = [{ bearer: [] }, { session: [] }];

/**
 * Registering apps with the OpenID Connect provider (admins) and the apps a user let in
 * (`/api/me/oidc/grants`). With OIDC_ENABLED=false none of these routes exist.
 */
export const oidcAdminRoutes: RoutePlugin<{ config: Pick<Config, 'oidcEnabled'>; oidc: OidcService }> = async (app, { config, oidc }) => {
  if (!config.oidcEnabled) return;
  const admin = { access: 'admin' as const };
  const tags = ['openid-connect'];

  app.post(
    '/api/admin/oidc/clients',
    {
      config: admin,
      schema: {
        summary: 'Register an app with the OpenID Connect provider; its secret is in this answer only (admins only)',
        tags,
        security,
        body: ClientBody,
        response: { 201: NewClient, ...errorResponses(400, 401, 403, 413, 415, 422) },
      },
    },
    async (request, reply) => {
      const { body } = request;
      const created = await oidc.clients.create({
        clientName: body.client_name,
        redirectUris: body.redirect_uris,
        postLogoutRedirectUris: body.post_logout_redirect_uris,
        tokenEndpointAuthMethod: body.token_endpoint_auth_method,
        firstParty: body.first_party,
      }, { adminId: principal(request).id, meta: requestMeta(request) });
      return reply.status(201).header('Cache-Control', 'no-store').send(newClientJson(created));
    },
  );

  app.get(
    '/api/admin/oidc/clients',
    {
      config: admin,
      schema: {
        summary: 'The registered apps, oldest first, a page at a time; never a secret (admins only)',
        tags,
        security,
        querystring: Type.Object({ ...PageQuery }),
        response: { 200: ClientsPage, ...errorResponses(401, 403, 422) },
      },
    },
    async (request) => {
      const page = await oidc.clients.list({ limit: request.query.limit ?? 20, page: request.query.page ?? 1 });
      return { ...page, items: page.items.map(clientJson) };
    },
  );

  app.delete(
    '/api/admin/oidc/clients/:client_id',
    {
      config: admin,
      schema: {
        summary: 'Delete an app: every grant, code and token it holds ends (admins only)',
        tags,
        security,
        params: ClientParams,
        response: { 204: Type.Null(), ...errorResponses(401, 403, 404) },
      },
    },
    async (request, reply) => {
      await oidc.clients.delete(request.params.client_id, { adminId: principal(request).id, meta: requestMeta(request) });
      return reply.status(204).send(null);
    },
  );

  app.get(
    '/api/me/oidc/grants',
    {
      schema: {
        summary: 'The apps you let use your account through OpenID Connect (first-party apps included), one per app',
        tags,
        security,
        response: { 200: Type.Object({ items: Type.Array(Grant) }), ...errorResponses(401) },
      },
    },
    async (request) => {
      const items = await oidc.grants.list(principal(request).id);
      return { items: items.map((item) => ({ client_id: item.clientId, client_name: item.clientName, scopes: item.scopes, created_at: item.createdAt })) };
    },
  );

  app.delete(
    '/api/me/oidc/grants/:client_id',
    {
      schema: {
        summary: 'Remove an app: its tokens end, and the next sign-in asks for consent again',
        tags,
        security,
        params: ClientParams,
        response: { 204: Type.Null(), ...errorResponses(401, 403, 404) },
      },
    },
    async (request, reply) => {
      await oidc.grants.revoke(principal(request).id, request.params.client_id, requestMeta(request));
      return reply.status(204).send(null);
    },
  );
};
