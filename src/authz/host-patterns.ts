/**
 * Host names and host-name patterns, as FORWARD_AUTH_HOSTS and FORWARD_AUTH_RULES list them and
 * as forward authentication and `/login`'s `next` compare them. Pure functions with no imports:
 * config.ts validates with them at start, the forward-auth routes and next-path.ts match with them.
 *
 * A pattern is an exact host name (`app.example.com`) or a wildcard (`*.example.com`: every
 * subdomain at any depth, never `example.com` itself). Both sides go through the WHATWG URL
 * parser, as a browser reads a host: lower case, internationalized names as punycode, IPv4 in
 * dotted form, IPv6 in brackets; one trailing dot is dropped. A port is never part of either.
 */

/** Anything that would make the URL parser read a path, query, fragment, userinfo or a list instead of a host. */
const NOT_A_HOST = /[/?#@\\\s,]/;

/** `value`'s host name, or null: `value` must be a bare `host` or `host:port` (as a Host or X-Forwarded-Host header is). */
export function hostnameOf(value: string): string | null {
  if (value.length === 0 || value.length > 300 || NOT_A_HOST.test(value)) return null;
  let url: URL;
  try {
    url = new URL(`http://${value}`);
  } catch {
    return null;
  }
  return normalizedHostname(url);
}

/** A parsed URL's host name as patterns compare it, or null when it has none worth comparing. */
export function normalizedHostname(url: URL): string | null {
  const hostname = url.hostname.endsWith('.') ? url.hostname.slice(0, -1) : url.hostname;
  // An empty label (`a..example.com`, `.example.com`) names no host a browser would reach.
  if (hostname === '' || hostname.startsWith('.') || hostname.includes('..')) return null;
  return hostname;
}

/** Whether a normalized host name is an IP address (IPv4 dotted, or IPv6 in brackets). */
export function isIpAddress(hostname: string): boolean {
  return hostname.startsWith('[') || /^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname);
}

/**
 * One list entry, normalized; throws an Error saying why it is not a pattern (config.ts turns it
 * into a ConfigError naming the variable).
 *
 * @example parseHostPattern('*.Example.COM') // '*.example.com'
 * @example parseHostPattern('app.example.com:8443') // throws: no port
 */
export function parseHostPattern(raw: string): string {
  const entry = raw.trim();
  const wildcard = entry.startsWith('*.');
  const name = wildcard ? entry.slice(2) : entry;
  if (name.includes('*')) throw new Error(`"${raw}": a wildcard is only allowed as the whole first label ("*.example.com")`);
  if (/:\d*$/.test(name) && !name.endsWith(']')) throw new Error(`"${raw}": list host names without a port (the port is ignored when comparing)`);
  const hostname = hostnameOf(name);
  if (hostname === null || (hostname.includes(':') && !hostname.startsWith('['))) throw new Error(`"${raw}" is not a host name`);
  if (wildcard && isIpAddress(hostname)) throw new Error(`"${raw}": a wildcard needs a domain name, not an IP address`);
  return wildcard ? `*.${hostname}` : hostname;
}

/**
 * Whether a normalized host name matches a normalized pattern.
 *
 * @example matchesHostPattern('*.example.com', 'a.b.example.com') // true
 * @example matchesHostPattern('*.example.com', 'example.com')     // false
 */
export function matchesHostPattern(pattern: string, hostname: string): boolean {
  if (pattern.startsWith('*.')) {
    const suffix = pattern.slice(1);
    return hostname.length > suffix.length && hostname.endsWith(suffix);
  }
  return hostname === pattern;
}

/** Whether any of the patterns matches; an empty list matches nothing. */
export function matchesAnyHostPattern(patterns: readonly string[], hostname: string): boolean {
  for (const pattern of patterns) if (matchesHostPattern(pattern, hostname)) return true;
  return false;
}

/**
 * Among the patterns matching `hostname`, the most specific one: the exact name, else the
 * wildcard with the longest suffix. Null when none matches.
 */
export function mostSpecificMatch(patterns: readonly string[], hostname: string): string | null {
  let best: string | null = null;
  for (const pattern of patterns) {
    if (!matchesHostPattern(pattern, hostname)) continue;
    if (!pattern.startsWith('*.')) return pattern;
    if (best === null || pattern.length > best.length) best = pattern;
  }
  return best;
}

/**
 * Whether every host a pattern can match is also matched by one of `patterns` — or, for a
 * wildcard, whether any of `patterns` can match some host under it. config.ts uses it to refuse a
 * FORWARD_AUTH_RULES entry that names no host in FORWARD_AUTH_HOSTS (most likely a typo, which
 * would otherwise leave the intended host open to every user).
 */
export function patternOverlaps(pattern: string, patterns: readonly string[]): boolean {
  if (!pattern.startsWith('*.')) return matchesAnyHostPattern(patterns, pattern);
  const suffix = pattern.slice(1);
  return patterns.some((other) => other === pattern || matchesHostPattern(other, pattern.slice(2)) || (other.startsWith('*.') ? other.endsWith(suffix) : matchesHostPattern(pattern, other)));
}
