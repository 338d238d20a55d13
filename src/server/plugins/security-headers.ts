import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import helmet from 'helmet';

/** The page CSP: our own scripts, styles and images only; no inline script. */
const PAGE_CSP = {
  useDefaults: false,
  directives: {
    defaultSrc: ["'self'"],
    scriptSrc: ["'self'"],
    styleSrc: ["'self'"],
    imgSrc: ["'self'", 'data:'],
    connectSrc: ["'self'"],
    fontSrc: ["'self'"],
    formAction: ["'self'"],
    frameAncestors: ["'none'"],
    objectSrc: ["'none'"],
    baseUri: ["'self'"],
  },
};

/**
 * The API reference's CSP (/docs and its assets): Swagger UI is a large third-party bundle running
 * on the identity origin, so it gets only what it uses — its own scripts and styles, its inline
 * SVG images, and calls back to this origin ("Try it out"). No forms, fonts, frames or <base>.
 */
const DOCS_CSP = {
  useDefaults: false,
  directives: {
    defaultSrc: ["'none'"],
    scriptSrc: ["'self'"],
    styleSrc: ["'self'"],
    imgSrc: ["'self'", 'data:'],
    connectSrc: ["'self'"],
    formAction: ["'none'"],
    frameAncestors: ["'none'"],
    objectSrc: ["'none'"],
    baseUri: ["'none'"],
  },
};

/**
 * The same policy as one header value. The docs scope sets it on its own answers (docs.routes.ts),
 * after this plugin's hook: the check path pays nothing for it.
 */
export const DOCS_CSP_HEADER = cspHeader(DOCS_CSP.directives);

function cspHeader(directives: Record<string, readonly string[]>): string {
  return Object.entries(directives)
    .map(([name, values]) => `${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} ${values.join(' ')}`)
    .join('; ');
}

/**
 * The page CSP as one header value, its `form-action` also allowing the origins (or, for a custom
 * scheme, the scheme) of `formTargets`: for the OpenID Connect interaction pages, whose forms are
 * answered by redirects that end at the client, and browsers apply form-action to each redirect
 * after a form submission. A route sets it on its answer, which takes precedence over this plugin's.
 */
export function pageCspAllowingFormTargets(formTargets: readonly string[]): string {
  const sources = new Set<string>();
  for (const target of formTargets) {
    try {
      const url = new URL(target);
      sources.add(url.protocol === 'http:' || url.protocol === 'https:' ? url.origin : url.protocol);
    } catch {
      // Not a URL: nothing to allow.
    }
  }
  return cspHeader({ ...PAGE_CSP.directives, formAction: [...PAGE_CSP.directives.formAction, ...sources] });
}


/**
 * The page CSP with FORWARD_AUTH_HOSTS added to `form-action`: browsers apply form-action to the
 * redirects that follow a form post, and the login form's 303 may go back to a protected app
 * (its `next`). Each pattern becomes a host source on any port (`*.example.com:*` covers every
 * depth of subdomain, as the pattern does); IPv6 literals have no host-source form and are left out.
 */
function withFormActionHosts(csp: typeof PAGE_CSP, hosts: readonly string[]): typeof PAGE_CSP {
  const sources = hosts.filter((host) => !host.startsWith('[')).map((host) => `${host}:*`);
  if (sources.length === 0) return csp;
  return { ...csp, directives: { ...csp.directives, formAction: [...csp.directives.formAction, ...sources] } };
}

/**
 * Protective headers on every answer, chosen by what the answer is.
 *
 * HTML documents get helmet's full set. Everything else (JSON, assets) gets the subset that
 * matters for a resource that is never rendered as a page — OWASP's REST recommendation: a
 * CSP that allows nothing, nosniff, no framing, no referrer abroad, same-origin CORP, and
 * no-store unless the route chose its own caching. Half the headers is a fifth of a session
 * check's cost, measured (docs/benchmarks.md). The helmet middleware is built once, here.
 */
export const securityHeadersPlugin = fp(
  async (app: FastifyInstance, { https, formActionHosts = [] }: { https: boolean; formActionHosts?: readonly string[] }) => {
    const applyPageHeaders = helmet({
      contentSecurityPolicy: withFormActionHosts(PAGE_CSP, formActionHosts),
      // Plain-HTTP development must keep working; HSTS only matters (and only applies) over HTTPS.
      strictTransportSecurity: https,
      // Not helmet's `no-referrer`: under it browsers send `Origin: null` on same-origin form posts
      // and fetches, which the Origin rule refuses. `same-origin` keeps the real Origin at home
      // and still sends no referrer (and `Origin: null`) to other sites.
      referrerPolicy: { policy: 'same-origin' },
    });
    const resourceHeaders: Record<string, string> = {
      'content-security-policy': "default-src 'none'; frame-ancestors 'none'; object-src 'none'",
      'x-content-type-options': 'nosniff',
      'x-frame-options': 'DENY',
      'referrer-policy': 'same-origin',
      'cross-origin-resource-policy': 'same-origin',
      ...(https ? { 'strict-transport-security': 'max-age=31536000; includeSubDomains' } : {}),
    };

    app.addHook('onSend', (request, reply, payload, done) => {
      const type = reply.getHeader('content-type');
      if (typeof type === 'string' && type.startsWith('text/html')) {
        applyPageHeaders(request.raw, reply.raw, () => done(null, payload));
        return;
      }
      reply.headers(resourceHeaders);
      if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
      done(null, payload);
    });
  },
  { name: 'gatehouse-security-headers' },
);
