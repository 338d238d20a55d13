/** Any origin works as the base: only "did it stay on the base's origin" is asked of it. */
const BASE = 'http://gatehouse.invalid';
const BASE_ORIGIN = new URL(BASE).origin;

/**
 * Where to go after a successful form login: a path on our own origin, never elsewhere.
 *
 * The raw text is checked first (a path, no backslash, no control character), but the decision
 * rests on the *resolved* URL: the URL parser removes dot segments and decodes `%2e`, so
 * `/.//evil.example` comes out as the path `//evil.example`, which a browser reads as another
 * host. The answer is therefore rebuilt from the resolved parts, with its leading slashes
 * collapsed to one: it always starts with exactly one `/`. Anything else falls back to `/`.
 *
 * @example safeNextPath('/bucketlists?page=2') // '/bucketlists?page=2'
 * @example safeNextPath('/.//evil.example')    // '/evil.example'
 * @example safeNextPath('https://evil.example/') // '/'
 */
export function safeNextPath(next: unknown): string {
  if (typeof next !== 'string' || next.length === 0 || next.length > 2048) return '/';
  if (!next.startsWith('/') || next.startsWith('//')) return '/';
  // Browsers read a backslash in a URL as a slash, so `/\evil.example` means `//evil.example`.
  if (next.includes('\\')) return '/';
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
  if (/[\u0000-\u001f\u007f]/.test(next)) return '/';
  let resolved: URL;
  try {
    resolved = new URL(next, BASE);
  } catch {
    return '/';
  }
  if (resolved.origin !== BASE_ORIGIN || resolved.username !== '' || resolved.password !== '') return '/';
  const path = `/${resolved.pathname.replace(/^\/+/, '')}${resolved.search}${resolved.hash}`;
  // By construction; kept as the rule itself, so a future edit above cannot quietly break it.
  if (path.startsWith('//') || path.includes('\\')) return '/';
  return path;
}
