/**
 * The server and the web app know the same client routes. The server (src/server/pages/app-routes.ts)
 * serves the app for its routes and the 404 page for any other HTML path; the app
 * (web/src/app/routes.ts) renders a page for its routes and its not-found page otherwise. If the
 * lists drift, a page the app links to is a server 404 on reload, or the server serves the app
 * for a path the app cannot show.
 *
 * Compared three ways: the route names each file declares, the Fastify patterns the server
 * registers (each must name one of its routes, and every route must have one), and what the two
 * matchers make of the same paths (fixed edge cases plus generated ones, fixed seed).
 *
 * Checked: adding `if (pathname === '/settings') return { name: 'settings' };` (and the type) to
 * web/src/app/routes.ts fails the first test; changing the app's MAX_ID to 2_147_483_648 fails
 * the third on /bucketlists/2147483648.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { APP_ROUTE_PATTERNS, matchAppRoute } from '../../src/server/pages/app-routes.js';
import { matchRoute } from '../../web/src/app/routes.js';

const SERVER_FILE = 'src/server/pages/app-routes.ts';
const WEB_FILE = 'web/src/app/routes.ts';
/** The app's fallback page, which the server answers as its own 404 page. */
const NOT_FOUND = 'not-found';

/** Every `name: '…'` a routes file mentions (its route type and what its matcher returns). */
function declaredNames(file: string): Set<string> {
  const text = readFileSync(join(process.cwd(), file), 'utf8');
  return new Set([...text.matchAll(/\bname: '([^']+)'/g)].map((match) => match[1] ?? ''));
}

/** The server's answer in the app's terms: a route, or the not-found page. */
function serverView(path: string): unknown {
  return matchAppRoute(path) ?? { name: NOT_FOUND };
}

/** A Fastify pattern made concrete: `:id` becomes an id the API could hand out. */
function instances(pattern: string): string[] {
  return pattern.includes(':id') ? ['1', '42', '2147483647'].map((id) => pattern.replace(':id', id)) : [pattern];
}

const EDGE_PATHS = [
  '', '/', '//', '/x', '/login', '/signup', '/logout', '/docs', '/api/me', '/api/bucketlists', '/index.html',
  '/bucketlists', '/bucketlists/', '//bucketlists', '/Bucketlists', '/BUCKETLISTS', '/bucketlists?x=1', '/bucketlists#top',
  '/bucketlists/1', '/bucketlists/42', '/bucketlists/0', '/bucketlists/00', '/bucketlists/01', '/bucketlists/-1', '/bucketlists/+1',
  '/bucketlists/1.5', '/bucketlists/1e3', '/bucketlists/0x10', '/bucketlists/ 1', '/bucketlists/1 ', '/bucketlists/%31', '/bucketlists/１',
  '/bucketlists/2147483647', '/bucketlists/2147483648', '/bucketlists/9999999999', '/bucketlists/12345678901',
  '/bucketlists/1/', '/bucketlists/1/items', '/bucketlists//1', '/bucketlists%2F1', '/bucketlists/1/../2',
  '/account', '/account/', '/Account', '/ACCOUNT', '/accounts', '/account/1', '/account?x=1', '//account', '/account/sessions',
];

describe('the server and the web app list the same client routes', () => {
  it('declare the same route names (the app adds only its not-found page)', () => {
    const server = declaredNames(SERVER_FILE);
    const web = declaredNames(WEB_FILE);
    assert.ok(server.size >= 3 && web.has(NOT_FOUND), `read the files: ${[...server].join()} / ${[...web].join()}`);
    web.delete(NOT_FOUND);
    assert.deepEqual([...web].sort(), [...server].sort(), `${WEB_FILE} and ${SERVER_FILE} list different routes: change both together`);
  });

  it('register one Fastify pattern per route, and every pattern is a page of the app', () => {
    const server = declaredNames(SERVER_FILE);
    const byPattern = new Map<string, string>();
    for (const pattern of APP_ROUTE_PATTERNS) {
      for (const path of instances(pattern)) {
        const route = matchAppRoute(path);
        assert.ok(route, `the server registers ${pattern} but does not match ${path}`);
        assert.deepEqual(matchRoute(path), route, `the app shows ${path} as the server does`);
        byPattern.set(pattern, route.name);
      }
    }
    assert.deepEqual([...new Set(byPattern.values())].sort(), [...server].sort(), 'every route has a pattern the server serves');
    assert.equal(new Set(byPattern.values()).size, APP_ROUTE_PATTERNS.length, 'no two patterns for one route');
  });

  it('match every path alike: the same route, or not-found on both sides', () => {
    for (const path of EDGE_PATHS) assert.deepEqual(matchRoute(path), serverView(path), JSON.stringify(path));
    const segment = fc.oneof(
      fc.constantFrom('bucketlists', 'Bucketlists', 'account', 'Account', '', '0', '1', '01', '2147483647', '2147483648', '-1', '1.0'),
      fc.bigInt({ min: 0n, max: 10n ** 12n }).map(String),
      fc.string({ maxLength: 12 }),
    );
    const paths = fc.array(segment, { maxLength: 4 }).map((segments) => `/${segments.join('/')}`);
    fc.assert(
      fc.property(paths, (path) => {
        assert.deepEqual(matchRoute(path), serverView(path), JSON.stringify(path));
      }),
      { seed: 20261207, numRuns: 5000 },
    );
  });
});
