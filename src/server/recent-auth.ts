import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { RecentAuthService, SignInRef } from '../accounts/recent-auth.service.js';
import { UnauthenticatedError } from '../errors.js';
import { principal } from './plugins/auth.js';
import { requestMeta } from './request-meta.js';

/** The sign-in a request came with, and when it last proved its user. */
export function signInOf(request: FastifyRequest): SignInRef {
  const auth = request.auth;
  if (!auth) throw new UnauthenticatedError();
  return auth.via === 'session'
    ? { kind: 'browser', id: auth.session.id, authenticatedAt: auth.session.authenticatedAt }
    : { kind: 'token', id: auth.sessionId, authenticatedAt: auth.authenticatedAt };
}

/** A field of the body as parsed, before validation: what the recent-authentication step reads. */
export function rawField(request: FastifyRequest, name: string): unknown {
  const body = request.body;
  return body !== null && typeof body === 'object' ? (body as Record<string, unknown>)[name] : undefined;
}

/**
 * The *recent* step of a route, as its preValidation hook: after the body is read, before its
 * fields are validated (the contract's order). A `current_password` in the body is a one-time
 * re-authentication.
 */
export function recentStep(recentAuth: RecentAuthService): (request: FastifyRequest) => Promise<void> {
  return async (request) => {
    await recentAuth.requireRecent(principal(request).id, signInOf(request), rawField(request, 'current_password'), requestMeta(request));
  };
}

export const RECENT_NOTE = 'Needs a recent sign-in (REAUTH_MAX_AGE), or `current_password` in a JSON body.';

/** The schema key of a route whose JSON body may be left out: its OpenAPI `requestBody` says `required: false`. */
export const OPTIONAL_BODY = 'x-body-optional';

/** The optional body of a *recent* DELETE route, as OpenAPI shows it. */
const RecentDeleteBody = Type.Object(
  { current_password: Type.Optional(Type.String({ maxLength: 1024, description: 'Your password: a one-time re-authentication when your sign-in is not recent' })) },
  { description: 'Optional: send no body when your sign-in is recent' },
);

/** Spread into a *recent* DELETE route's schema: its optional body, `{current_password?}`. */
export const recentDeleteSchema = { body: RecentDeleteBody, [OPTIONAL_BODY]: true } as const;

/**
 * The *recent* step of a DELETE route whose body is optional: the step, then an absent body read as
 * `{}` so that RecentDeleteBody (an object) validates a request sent without one.
 */
export function recentDeleteStep(recentAuth: RecentAuthService): (request: FastifyRequest) => Promise<void> {
  const recent = recentStep(recentAuth);
  return async (request) => {
    await recent(request);
    request.body ??= {};
  };
}
