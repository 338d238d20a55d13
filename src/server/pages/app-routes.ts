/**
 * The web app's client-side routes, as the server knows them. The app keeps the same list
 * (web/src/app/routes.ts); change both together. For each of these paths the server answers
 * the app (or, without a session, a redirect to the login page); any other HTML GET is the 404 page.
 */
export type AppRoute = { name: 'home' } | { name: 'bucketlists' } | { name: 'bucketlist'; id: number } | { name: 'account' };

/** Fastify route patterns, one per client route. */
export const APP_ROUTE_PATTERNS = ['/', '/bucketlists', '/bucketlists/:id', '/account'] as const;

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
  return null;
}
