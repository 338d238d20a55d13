/**
 * The web app's client-side routes, as the server knows them. The app keeps the same list
 * (web/src/app/routes.ts); change both together. For each of these paths the server answers
 * the app (or, without a session, a redirect to the login page); any other HTML GET is the 404 page.
 */
export type AppRoute =
  | { name: 'home' }
  | { name: 'bucketlists' }
  | { name: 'bucketlist'; id: number }
  | { name: 'account' }
  | { name: 'admin' }
  | { name: 'admin-users' }
  | { name: 'admin-user'; id: number }
  | { name: 'admin-audit' }
  | { name: 'admin-apps' };

/**
 * Fastify route patterns, one per client route. The admin console's pages are served to every
 * signed-in user like the others: the app (and the shell) shows a non-admin the not-found page,
 * and the admin API behind them answers 403.
 */
export const APP_ROUTE_PATTERNS = ['/', '/bucketlists', '/bucketlists/:id', '/account', '/admin', '/admin/users', '/admin/users/:id', '/admin/audit', '/admin/apps'] as const;

/** The admin console's pages. */
export function isAdminAppRoute(route: AppRoute): boolean {
  return route.name === 'admin' || route.name.startsWith('admin-');
}

/** Ids are spelled as in the API: positive decimal integers up to 2^31 − 1, no sign or leading zeros. */
const POSITIVE_ID = /^[1-9][0-9]{0,9}$/;
const MAX_ID = 2_147_483_647;

/** The client route a path names, or null when the app has no such page. */
export function matchAppRoute(pathname: string): AppRoute | null {
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
  return null;
}
