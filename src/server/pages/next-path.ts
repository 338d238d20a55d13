import { matchesAnyHostPattern, normalizedHostname } from '../../authz/host-patterns.js';

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

/**
 * Where a login may send the browser afterwards: what safeNextPath allows, or — for forward
 * authentication — an absolute http(s) URL whose host passes FORWARD_AUTH_HOSTS (`forwardAuthHosts`,
 * normalized patterns from the config). The URL is parsed, never pattern-matched as text: no user
 * info, no backslash, no control character, and the host is the one the parser reads, as a
 * browser would. The answer is the parser's serialization. Anything else falls back to
 * safeNextPath's rules (so `https://evil.example/` still becomes `/`).
 *
 * @example safeNext('https://app.example.com/x', ['*.example.com']) // 'https://app.example.com/x'
 * @example safeNext('https://example.com/', ['*.example.com'])     // '/'
 */
export function safeNext(next: unknown, forwardAuthHosts: readonly string[]): string {
  const absolute = forwardAuthHosts.length > 0 ? allowedAbsoluteUrl(next, forwardAuthHosts) : null;
  return absolute ?? safeNextPath(next);
}

/**
 * For a page that echoes `next` into its form (the login and MFA pages): a value that safeNext
 * could have returned passes unchanged, anything else is sanitized as a path. The page's route
 * has already applied safeNext with the configured hosts, and the form's target applies it again
 * before redirecting; this only keeps the echoed value well-formed.
 */
export function echoedNext(next: string): string {
  return absoluteHttpUrl(next) !== null ? next : safeNextPath(next);
}

function allowedAbsoluteUrl(next: unknown, forwardAuthHosts: readonly string[]): string | null {
  const url = typeof next === 'string' ? absoluteHttpUrl(next) : null;
  if (url === null) return null;
  const hostname = normalizedHostname(url);
  return hostname !== null && matchesAnyHostPattern(forwardAuthHosts, hostname) ? url.href : null;
}

/** `next` as an absolute http(s) URL without user info, backslashes or control characters, or null. */
function absoluteHttpUrl(next: string): URL | null {
  if (next.length === 0 || next.length > 2048 || next.includes('\\')) return null;
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
  if (/[\u0000-\u001f\u007f\s]/.test(next)) return null;
  if (!/^https?:\/\/[^/]/i.test(next)) return null;
  let url: URL;
  try {
    url = new URL(next);
  } catch {
    return null;
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.username !== '' || url.password !== '') return null;
  return url;
}
