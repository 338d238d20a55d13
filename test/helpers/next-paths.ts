/**
 * The `next` values the redirect tests share (test/unit/next-path.test.ts and
 * test/http/redirects.test.ts): open-redirect attempts and ordinary paths, each with the path
 * Gatehouse must redirect to.
 */
import assert from 'node:assert/strict';

/** [next as sent, the path Gatehouse redirects to]. */
export const NEXT_CASES: ReadonlyArray<readonly [string, string]> = [
  // Dot segments that the URL parser turns into `//host` (security review, finding 3).
  ['/.//evil.example', '/evil.example'],
  ['/%2e//evil.example', '/evil.example'],
  ['/%2E%2e//evil.example', '/evil.example'],
  ['/..//evil.example', '/evil.example'],
  ['/a/..//evil.example', '/evil.example'],
  ['/a/%2e%2e//evil.example/x?y=1#z', '/evil.example/x?y=1#z'],
  ['/.//user:pass@evil.example/landing', '/user:pass@evil.example/landing'],
  ['/.///evil.example', '/evil.example'],
  // Backslashes, which browsers read as slashes.
  ['/.\\/evil.example', '/'],
  ['/./\\evil.example', '/'],
  ['/\\evil.example', '/'],
  ['/\\/evil.example', '/'],
  ['/x\\y', '/'],
  // Other ways off the site.
  ['//evil.example', '/'],
  ['///evil.example', '/'],
  ['https://evil.example/', '/'],
  ['http:evil.example', '/'],
  ['javascript:alert(1)', '/'],
  ['evil.example', '/'],
  ['/\tevil', '/'],
  ['/x\r\nSet-Cookie: a=b', '/'],
  ['', '/'],
  // Encoded slashes stay encoded: a path on this site.
  ['/%2F%2Fevil.example', '/%2F%2Fevil.example'],
  ['/%5C%5Cevil.example', '/%5C%5Cevil.example'],
  // Ordinary paths pass, normalized.
  ['/', '/'],
  ['/bucketlists', '/bucketlists'],
  ['/bucketlists?page=2&q=a//b', '/bucketlists?page=2&q=a//b'],
  ['/bucketlists/./7', '/bucketlists/7'],
  ['/bucketlists/../bucketlists/3#items', '/bucketlists/3#items'],
];

/** The rule itself: one leading slash, no backslash, and it stays on the origin it is resolved against. */
export function assertSameOriginPath(path: string, label: string): void {
  assert.ok(path.startsWith('/') && !path.startsWith('//'), `${label}: ${path} must start with exactly one slash`);
  assert.ok(!path.includes('\\'), `${label}: ${path} must not contain a backslash`);
  for (const base of ['https://auth.example.com', 'http://127.0.0.1:3000/some/page']) {
    assert.equal(new URL(path, base).origin, new URL(base).origin, `${label}: ${path} leaves ${base}`);
  }
}
