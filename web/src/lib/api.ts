/**
 * The one way the app talks to the server: the typed client generated from the server's OpenAPI
 * document (src/client), in cookie mode — the session cookie sent along, the CSRF token echoed on
 * unsafe requests — and `call()`, which turns its answers into data or an ApiError with the
 * contract's code, and any 401 into the trip to the login page.
 */
import { GatehouseApiError, createGatehouseClient, unwrap } from '../../../src/client';
import type { AnswerData, ApiAnswer } from '../../../src/client';

export type { FieldErrors, Schemas } from '../../../src/client';

/** An error answer (or none: status 0, `network_error`), with the contract's code, message and field errors. */
export const ApiError = GatehouseApiError;
export type ApiError = GatehouseApiError;

/**
 * The app's client: every call goes through it, e.g. `call(api.GET('/api/me/mfa', { signal }))`.
 * Paths, parameters, bodies and answers are typed from the server's routes.
 */
export const api = createGatehouseClient({ mode: 'cookie' });

/** Where a 401 sends the person: the login form, which says the session ended and comes back here. */
export function loginUrlForExpiredSession(loc: Pick<Location, 'pathname' | 'search'> = window.location): string {
  return `/login?expired=1&next=${encodeURIComponent(loc.pathname + loc.search)}`;
}

let leaving = false;

/** Leave for the login page once, however many requests fail together. */
export function sessionExpired(): void {
  if (leaving) return;
  leaving = true;
  window.location.assign(loginUrlForExpiredSession());
}

/**
 * The data of a call through `api` (undefined for a 204), or a thrown ApiError. A 401 means the
 * session is gone (expired, revoked, logged out in another tab): the app leaves for the login page.
 *
 * @example const page = await call(api.GET('/api/bucketlists', { params: { query: { page: 2 } }, signal }));
 */
export async function call<A extends ApiAnswer>(request: Promise<A>): Promise<AnswerData<A>> {
  try {
    return await unwrap(request);
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      sessionExpired();
      throw new ApiError(401, 'unauthenticated', 'Your session has ended. Taking you to the login page…');
    }
    throw error;
  }
}

/**
 * The optional body of a *recent* DELETE route (DELETE /api/me, /api/admin/users/{id},
 * /api/me/mfa/totp, /api/me/passkeys/{id}): the password as a one-time re-authentication, or no
 * body when the sign-in is recent.
 */
export function recentBody(currentPassword?: string): { body?: { current_password?: string } } {
  return currentPassword !== undefined ? { body: { current_password: currentPassword } } : {};
}

/** A message fit to show a person, whatever was thrown. */
export function errorMessage(error: unknown): string {
  if (error instanceof ApiError) return error.message;
  return 'Something went wrong. Try again.';
}

export function isAbort(error: unknown): boolean {
  return error instanceof DOMException && error.name === 'AbortError';
}
