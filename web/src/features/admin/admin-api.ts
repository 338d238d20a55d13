import { ApiError, api, call, recentBody } from '../../lib/api';
import type { Schemas } from '../../lib/api';
import type { Page } from '../../lib/types';
import { AUDIT_EVENTS } from '../../../../src/audit/audit-events';
import type { paths } from '../../../../src/client';

/** The event names the server's audit filter accepts, from the typed client. */
export type AuditEventName = NonNullable<NonNullable<paths['/api/admin/audit']['get']['parameters']['query']>['event']>;

/**
 * The admin API (docs/resources.md "Admin API"), through the typed client: every path, parameter,
 * body and answer is checked against the server's OpenAPI document. Every route needs the admin
 * role; the server answers 403 to anyone else.
 */

/** A user as the admin API shows it: `disabled` besides the public fields. */
export type AdminUser = Schemas['AdminUser'];

export interface Dashboard {
  at: string;
  users: { total: number; admins: number; disabled: number };
  signed_in: { browser_sessions: number; token_logins: number };
  last_hour: { since: string; logins_succeeded: number; logins_failed: number; locked_accounts: number };
  mail_queue: number;
}

export interface UserFactors {
  totp: boolean;
  recovery_codes_left: number;
  passkeys: number;
}

export interface UserDetail {
  user: AdminUser;
  factors: UserFactors;
}

/** One browser session or token login of a user (GET /api/admin/users/:id/sessions). */
export interface AdminSignIn {
  id: string;
  kind: 'browser' | 'token';
  created_at: string;
  last_seen_at: string;
  expires_at: string | null;
  ip: string | null;
  user_agent: string | null;
}

export interface AuditEvent {
  id: number;
  occurred_at: string;
  event: string;
  user_id: number | null;
  username: string | null;
  actor_id: number | null;
  ip: string | null;
  user_agent: string | null;
  detail: Record<string, unknown> | null;
}

export interface AuditFilter {
  event?: AuditEventName;
  user_id?: number;
  /** ISO instants. */
  since?: string;
  until?: string;
  page: number;
  limit: number;
}

export interface OidcClient {
  client_id: string;
  client_name: string;
  redirect_uris: string[];
  post_logout_redirect_uris: string[];
  token_endpoint_auth_method: 'client_secret_basic' | 'client_secret_post' | 'none';
  first_party: boolean;
  created_at: string;
}

/** The answer to creating a client: its secret is in it this once (none for a public client). */
export interface NewOidcClient extends OidcClient {
  client_secret?: string;
}

export function getDashboard(signal?: AbortSignal): Promise<Dashboard> {
  return call(api.GET('/api/admin/dashboard', { signal }));
}

export function listUsers(query: { q?: string; page: number; limit: number }, signal?: AbortSignal): Promise<Page<AdminUser>> {
  return call(api.GET('/api/admin/users', { params: { query }, signal }));
}

export function createUser(body: { username: string; email: string | null; password: string; role: 'user' | 'admin' }): Promise<AdminUser> {
  return call(api.POST('/api/admin/users', { body }));
}

export function getUser(id: number, signal?: AbortSignal): Promise<UserDetail> {
  return call(api.GET('/api/admin/users/{id}', { params: { path: { id: String(id) } }, signal }));
}

/** A role change or disabling / re-enabling; disabling ends every session and token of the user at once. 409 last_admin for the last active admin. */
export function changeUser(id: number, patch: { role?: 'user' | 'admin'; disabled?: boolean }): Promise<AdminUser> {
  return call(api.PATCH('/api/admin/users/{id}', { params: { path: { id: String(id) } }, body: patch }));
}

/** *Recent*: 403 reauthentication_required without a recent sign-in; then again with the admin's password. */
export function deleteUser(id: number, currentPassword?: string): Promise<void> {
  return call(api.DELETE('/api/admin/users/{id}', { params: { path: { id: String(id) } }, ...recentBody(currentPassword) }));
}

export function listUserSessions(id: number, signal?: AbortSignal): Promise<{ items: AdminSignIn[] }> {
  return call(api.GET('/api/admin/users/{id}/sessions', { params: { path: { id: String(id) } }, signal }));
}

export function endUserSessions(id: number): Promise<{ revoked: number }> {
  return call(api.DELETE('/api/admin/users/{id}/sessions', { params: { path: { id: String(id) } } }));
}

/** Lost device: removes the user's TOTP, recovery codes and passkeys, and ends all their sessions. */
export function clearUserFactors(id: number): Promise<void> {
  return call(api.DELETE('/api/admin/users/{id}/mfa', { params: { path: { id: String(id) } } }));
}

export function listAudit(filter: AuditFilter, signal?: AbortSignal): Promise<Page<AuditEvent>> {
  return call(api.GET('/api/admin/audit', { params: { query: filter }, signal }));
}

/** The registered apps, or null when the server has no OpenID Connect provider (OIDC_ENABLED=false: 404). */
export async function listOidcClients(query: { page: number; limit: number }, signal?: AbortSignal): Promise<Page<OidcClient> | null> {
  try {
    return await call(api.GET('/api/admin/oidc/clients', { params: { query }, signal }));
  } catch (caught) {
    if (caught instanceof ApiError && caught.status === 404) return null;
    throw caught;
  }
}

export function createOidcClient(body: { client_name: string; redirect_uris: string[]; token_endpoint_auth_method: 'client_secret_basic' | 'none'; first_party: boolean }): Promise<NewOidcClient> {
  return call(api.POST('/api/admin/oidc/clients', { body }));
}

export function deleteOidcClient(clientId: string): Promise<void> {
  return call(api.DELETE('/api/admin/oidc/clients/{client_id}', { params: { path: { client_id: clientId } } }));
}

let oidcProbe: Promise<boolean> | null = null;

/** Whether the server has the OpenID Connect provider: asked once per page load. */
export function oidcAvailable(): Promise<boolean> {
  oidcProbe ??= listOidcClients({ page: 1, limit: 1 }).then(
    (page) => page !== null,
    () => {
      oidcProbe = null;
      return true;
    },
  );
  return oidcProbe;
}

/** The audit log's event names, for the filter: the server's own list. */
export const AUDIT_EVENT_NAMES = AUDIT_EVENTS;
