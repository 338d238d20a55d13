/**
 * Where to go after a successful form login: a path on our own origin, never elsewhere.
 * `//evil.example`, `/\evil.example` and absolute URLs all fall back to `/`.
 */
export function safeNextPath(next: unknown): string {
  if (typeof next !== 'string' || next.length === 0 || next.length > 2048) return '/';
  if (!next.startsWith('/') || next.startsWith('//') || next.startsWith('/\\')) return '/';
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
  if (/[\u0000-\u001f\u007f]/.test(next)) return '/';
  try {
    const resolved = new URL(next, 'http://gatehouse.invalid');
    if (resolved.origin !== 'http://gatehouse.invalid') return '/';
    return `${resolved.pathname}${resolved.search}${resolved.hash}`;
  } catch {
    return '/';
  }
}
