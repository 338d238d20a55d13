import fp from 'fastify-plugin';
import type { FastifyError, FastifyInstance } from 'fastify';
import type { Config } from '../../config.js';
import { ForbiddenError } from '../../errors.js';
import { errorHandler, oauthErrorHandler } from '../error-handler.js';

/**
 * A Host header's host name as the URL parser normalizes it (lower case, IPv4 in dotted form,
 * IPv6 in brackets), or null when it is not a bare `host[:port]`.
 */
export function hostnameOf(host: string): string | null {
  // Anything that would make the parser read a path, query, fragment or userinfo is no host.
  if (/[/?#@\\\s]/.test(host)) return null;
  try {
    return new URL(`http://${host}`).hostname;
  } catch {
    return null;
  }
}

/** The host name of an absolute-form request target, or null when it is not an http(s) URL. */
function hostOfTarget(target: string): string | null {
  try {
    const url = new URL(target);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.hostname : null;
  } catch {
    return null;
  }
}

/** 127.0.0.0/8, ::1 (also IPv4-mapped) and `localhost`, as normalized by hostnameOf. */
export function isLoopbackName(hostname: string): boolean {
  return (
    hostname === 'localhost' ||
    hostname === '[::1]' ||
    /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname) ||
    /^\[::ffff:7f[0-9a-f]{2}:[0-9a-f]{1,4}\]$/.test(hostname)
  );
}

/** Whether HOST (the listen address) is a loopback one. */
export function listensOnLoopback(host: string): boolean {
  const name = hostnameOf(host.includes(':') ? `[${host}]` : host);
  return name !== null && isLoopbackName(name);
}

/** How many accepted Host values are remembered, so the usual few skip the URL parser. */
const ACCEPTED_CACHE_SIZE = 64;

/**
 * DNS rebinding guard. A web page on `rebind.attacker.example` whose name is made to resolve to
 * 127.0.0.1 can send requests to a loopback-only instance and read the answers, since the
 * browser sees one origin; only the Host header still names the attacker's site. So a server
 * that listens on a loopback address answers only to a loopback address, `localhost` (any port)
 * or PUBLIC_URL's host name, and refuses every other Host with 403 `forbidden` before any route
 * runs. The raw Host header is read, never X-Forwarded-Host, which a page's script can set.
 *
 * A server listening on another address is not checked: behind a proxy the Host is whatever
 * public name the proxy was reached by, and rebinding to a public address gains nothing that
 * the attacker cannot already reach directly.
 */
export const hostCheckPlugin = fp(
  async (app: FastifyInstance, { config }: { config: Pick<Config, 'host' | 'publicUrl'> }) => {
    if (!listensOnLoopback(config.host)) return;
    const publicHostname = new URL(config.publicUrl).hostname;
    const accepted = new Set<string>();

    // Callback-style, as every per-request hook here: an async hook costs a promise on every request.
    const allowed = (name: string | null) => name !== null && (isLoopbackName(name) || name === publicHostname);
    app.addHook('onRequest', (request, reply, done) => {
      const host = request.headers.host;
      // An absolute-form target (`GET http://evil.example/… HTTP/1.1`) names the host in the request
      // line, and HTTP says that one wins over Host: it must pass the same check.
      const target = request.raw.url ?? '/';
      const absolute = target[0] !== '/' && target !== '*';
      if (!absolute && host !== undefined && accepted.has(host)) return done();
      const name = host === undefined ? null : hostnameOf(host);
      if (host !== undefined && allowed(name) && (!absolute || allowed(hostOfTarget(target)))) {
        if (!absolute && accepted.size < ACCEPTED_CACHE_SIZE) accepted.add(host);
        return done();
      }
      // Answered here, in JSON, rather than through the form pages' error handler: a refused Host
      // gets no page and no cookie.
      const refused = new ForbiddenError('This server answers only to its own host names: a loopback address, localhost or the host of PUBLIC_URL.');
      (request.routeOptions.config?.oauth ? oauthErrorHandler : errorHandler)(refused as unknown as FastifyError, request, reply);
    });
  },
  { name: 'gatehouse-host-check' },
);
