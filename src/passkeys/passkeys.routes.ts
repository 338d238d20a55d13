import { Type } from 'typebox';
import type { LoginService } from '../accounts/login.service.js';
import type { RecentAuthService } from '../accounts/recent-auth.service.js';
import { userJson } from '../accounts/user-json.js';
import type { Config } from '../config.js';
import { InvalidCredentialsError } from '../errors.js';
import { setSessionCookies } from '../server/cookies.js';
import type { RoutePlugin } from '../server/http.js';
import { principal } from '../server/plugins/auth.js';
import { ipRateLimit } from '../server/plugins/rate-limit.js';
import { RECENT_NOTE, recentDeleteSchema, recentDeleteStep, recentStep } from '../server/recent-auth.js';
import { requestMeta } from '../server/request-meta.js';
import { errorResponses, UserRef } from '../server/schemas.js';
import { passkeyJson } from './passkeys.service.js';
import type { PasskeyService } from './passkeys.service.js';
import { AuthenticationResponseSchema, RegistrationResponseSchema } from './webauthn-json.js';

const Passkey = Type.Object({
  id: Type.String({ format: 'uuid' }),
  name: Type.String({ maxLength: 100 }),
  created_at: Type.String({ format: 'date-time' }),
  last_used_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], { description: 'null until first used' }),
});
const Descriptor = Type.Object({ id: Type.String(), type: Type.String(), transports: Type.Optional(Type.Array(Type.String())) });
/** The options objects are WebAuthn Level 3 JSON, passed through as @simplewebauthn/server makes them. */
const CreationOptions = Type.Object(
  {
    challenge: Type.String({ description: 'base64url; single use, 5 minutes' }),
    rp: Type.Object({ id: Type.Optional(Type.String()), name: Type.String() }),
    user: Type.Object({ id: Type.String({ description: 'The user handle, base64url (opaque)' }), name: Type.String(), displayName: Type.String() }),
    pubKeyCredParams: Type.Array(Type.Object({ alg: Type.Integer(), type: Type.String() })),
    timeout: Type.Optional(Type.Integer()),
    excludeCredentials: Type.Optional(Type.Array(Descriptor, { description: "The user's passkeys" })),
    authenticatorSelection: Type.Optional(Type.Object({}, { additionalProperties: true, description: 'residentKey "required", userVerification "required"' })),
    attestation: Type.Optional(Type.String()),
  },
  { additionalProperties: true, description: 'PublicKeyCredentialCreationOptionsJSON, for PublicKeyCredential.parseCreationOptionsFromJSON or @simplewebauthn/browser startRegistration' },
);
const RequestOptions = Type.Object(
  {
    challenge: Type.String({ description: 'base64url; single use, 5 minutes' }),
    rpId: Type.Optional(Type.String()),
    timeout: Type.Optional(Type.Integer()),
    allowCredentials: Type.Optional(Type.Array(Descriptor, { description: 'Empty: the browser offers the passkeys it holds for this site' })),
    userVerification: Type.Optional(Type.String({ description: '"required"' })),
  },
  { additionalProperties: true, description: 'PublicKeyCredentialRequestOptionsJSON, for PublicKeyCredential.parseRequestOptionsFromJSON or @simplewebauthn/browser startAuthentication' },
);
const RecentBody = Type.Optional(Type.Object({ current_password: Type.Optional(Type.String({ maxLength: 1024 })) }));
const IdParams = Type.Object({ id: Type.String({ maxLength: 64, description: 'The passkey id (a UUID)' }) });
const Name = Type.String({ maxLength: 1024, description: 'At most 100 characters after trimming' });

export interface PasskeyRoutesOptions {
  config: Pick<Config, 'cookieSecure' | 'sessionMaxAge' | 'rateLimits' | 'rateLimitPerIp'>;
  passkeys: PasskeyService;
  logins: LoginService;
  recentAuth: RecentAuthService;
  /** The session cookie's name: the one a sign-in replaces. */
  sessionCookieName: string;
}

/** Passkeys: managing them under /api/me/passkeys, and the discoverable sign-in at /login/passkey. */
export const passkeyRoutes: RoutePlugin<PasskeyRoutesOptions> = async (app, { config, passkeys, logins, recentAuth, sessionCookieName }) => {
  const security: Array<Record<string, string[]>> = [{ bearer: [] }, { session: [] }];
  const requireRecent = recentStep(recentAuth);
  const tags = ['passkeys'];

  app.post(
    '/api/me/passkeys/options',
    {
      preValidation: requireRecent,
      schema: {
        summary: 'Start adding a passkey: creation options for navigator.credentials.create()',
        description: `${RECENT_NOTE} A new call voids the earlier challenge.`,
        tags,
        security,
        body: RecentBody,
        response: { 200: CreationOptions, ...errorResponses(400, 401, 403, 413, 415, 422, 429) },
      },
    },
    async (request, reply) => reply.header('Cache-Control', 'no-store').send(await passkeys.registrationOptions(principal(request))),
  );

  app.post(
    '/api/me/passkeys',
    {
      schema: {
        summary: 'Finish adding a passkey: the browser\'s new credential, and a name',
        description: 'A response that fails verification (origin, RP ID, challenge, user presence or verification): 422 fields.response; the challenge is spent either way. A credential registered already: 409 conflict. Without a name (or a blank one) the passkey gets a default one.',
        tags,
        security,
        body: Type.Object({ response: RegistrationResponseSchema, name: Type.Optional(Name) }),
        response: { 201: Passkey, ...errorResponses(400, 401, 403, 409, 413, 415, 422) },
      },
    },
    async (request, reply) => {
      const created = await passkeys.register(principal(request), request.body.response, request.body.name, requestMeta(request));
      return reply.status(201).send(passkeyJson(created));
    },
  );

  app.get(
    '/api/me/passkeys',
    { schema: { summary: 'Your passkeys, oldest first', tags, security, response: { 200: Type.Object({ items: Type.Array(Passkey) }), ...errorResponses(401) } } },
    async (request) => ({ items: (await passkeys.list(principal(request).id)).map(passkeyJson) }),
  );

  app.patch(
    '/api/me/passkeys/:id',
    {
      schema: {
        summary: 'Rename a passkey',
        tags,
        security,
        params: IdParams,
        body: Type.Object({ name: Name }),
        response: { 200: Passkey, ...errorResponses(400, 401, 403, 404, 413, 415, 422) },
      },
    },
    async (request) => passkeyJson(await passkeys.rename(principal(request), request.params.id, request.body.name, requestMeta(request))),
  );

  app.delete(
    '/api/me/passkeys/:id',
    {
      preValidation: recentDeleteStep(recentAuth),
      schema: {
        summary: 'Remove a passkey',
        description: `${RECENT_NOTE} Another user's id, or an unknown one: 404.`,
        tags,
        security,
        params: IdParams,
        ...recentDeleteSchema,
        response: { 204: Type.Null(), ...errorResponses(400, 401, 403, 404, 413, 415, 422, 429) },
      },
    },
    async (request, reply) => {
      await passkeys.remove(principal(request), request.params.id, requestMeta(request));
      return reply.status(204).send(null);
    },
  );

  const preSession = { access: 'public', originRule: true, rateLimit: ipRateLimit(config) } as const;

  app.post(
    '/login/passkey/options',
    {
      config: preSession,
      schema: {
        summary: 'Start a passkey sign-in (or a {passkey} re-authentication): request options for navigator.credentials.get()',
        tags: ['session'],
        response: { 200: RequestOptions, ...errorResponses(403, 413, 415, 429) },
      },
    },
    async (_request, reply) => reply.header('Cache-Control', 'no-store').send(await passkeys.signInOptions()),
  );

  app.post(
    '/login/passkey',
    {
      config: preSession,
      schema: {
        summary: 'Sign in with a passkey: the assertion on a challenge from POST /login/passkey/options; starts a browser session',
        description: 'User verification is required, and a passkey sign-in satisfies MFA. Any failure: 401 invalid_credentials (a disabled user too). REQUIRE_EMAIL_VERIFICATION: 403 email_not_verified after the passkey checked out.',
        tags: ['session'],
        body: Type.Object({ response: AuthenticationResponseSchema, remember: Type.Optional(Type.Boolean()) }),
        response: { 200: UserRef, ...errorResponses(400, 401, 403, 413, 415, 422, 429, 503) },
      },
    },
    async (request, reply) => {
      const meta = requestMeta(request);
      const userId = await passkeys.verifySignIn(request.body.response, meta);
      if (userId === null) throw new InvalidCredentialsError();
      const outcome = await logins.logInWithPasskey(userId, request.body.remember === true, meta, request.cookies[sessionCookieName]);
      if (!outcome.ok) throw new InvalidCredentialsError();
      setSessionCookies(request, reply, config, outcome.credential);
      return userJson(outcome.user);
    },
  );
};
