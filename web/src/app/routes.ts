/**
 * The app's client-side routes. The server keeps the same list (src/server/pages/app-routes.ts):
 * it serves the app for these paths, sends visitors without a session to the login page, and
 * answers the 404 page for anything else. Change both together.
 */
export type Route =
  | { name: 'home' }
  | { name: 'bucketlists' }
  | { name: 'bucketlist'; id: number }
  | { name: 'account' }
  | { name: 'admin' }
  | { name: 'admin-users' }
  | { name: 'admin-user'; id: number }
  | { name: 'admin-audit' }
  | { name: 'admin-apps' }
  | { name: 'not-found' };

/** The admin console's pages (admins only: the app shows others its not-found page). */
export function isAdminRoute(route: Route): boolean {
  return route.name === 'admin' || route.name.startsWith('admin-');
}

/** Ids are spelled as in the API: positive decimal integers up to 2^31 − 1, no sign or leading zeros. */
const POSITIVE_ID = /^[1-9][0-9]{0,9}$/;
const MAX_ID = 2_147_483_647;

export function matchRoute(pathname: string): Route {
  if (pathname === '/') return { name: 'home' };
  if (pathname === '/bucketlists') return { name: 'bucketlists' };
  const detail = /^\/bucketlists\/([^/]+)$/.exec(pathname);
  if (detail?.[1] && POSITIVE_ID.test(detail[1]) && Number(detail[1]) <= MAX_ID) return { name: 'bucketlist', id: Number(detail[1]) };
  if (pathname === '/account') return { name: 'account' };
  if (pathname === '/admin') return { name: 'admin' };
  if (pathname === '/admin/users') return { name: 'admin-users' };
  const user = /^\/admin\/users\/([^/]+)$/.exec(pathname);
  if (user?.[1] && POSITIVE_ID.test(user[1]) && Number(user[1]) <= MAX_ID) return { name: 'admin-user', id: Number(user[1]) };
  if (pathname === '/admin/audit') return { name: 'admin-audit' };
  if (pathname === '/admin/apps') return { name: 'admin-apps' };
  return { name: 'not-found' };
}
