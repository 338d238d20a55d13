import { ApiError, api, call } from '../../lib/api';

/** The apps a user let sign them in through OpenID Connect (/api/me/oidc/grants), through the typed client. */

export interface AuthorisedApp {
  client_id: string;
  client_name: string;
  /** What the user let the app see: `openid`, `profile`, `email`, `offline_access`. */
  scopes: string[];
  created_at: string;
}

/** The apps, or null when the server has no OpenID Connect provider (OIDC_ENABLED=false: the route is 404). */
export async function listAuthorisedApps(signal?: AbortSignal): Promise<AuthorisedApp[] | null> {
  try {
    const { items } = await call(api.GET('/api/me/oidc/grants', { signal }));
    return items;
  } catch (caught) {
    if (caught instanceof ApiError && caught.status === 404) return null;
    throw caught;
  }
}

/** Remove an app: its tokens stop working at once and its next sign-in asks for consent again. 404 when already gone. */
export function removeAuthorisedApp(clientId: string): Promise<void> {
  return call(api.DELETE('/api/me/oidc/grants/{client_id}', { params: { path: { client_id: clientId } } }));
}
