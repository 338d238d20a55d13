import swaggerUi from '@fastify/swagger-ui';
import type { GatehouseApp } from './http.js';
import { DOCS_CSP_HEADER } from './plugins/security-headers.js';

/** The browser's cookie jar, in the one function below that runs in the docs page itself. */
declare const document: { cookie: string };

/**
 * Swagger UI's "Try it out" sends the CSRF header, as the web app does, so unsafe requests work
 * with the session cookie too. Runs in the browser: serialized into the page's initializer script.
 */
function addCsrfHeader(request: { [prop: string]: unknown }) {
  const headers = request.headers as Record<string, string>;
  const match = /(?:^|;\s*)csrf_token=([^;]*)/.exec(document.cookie);
  if (match && match[1] && !headers['X-CSRF-Token']) headers['X-CSRF-Token'] = decodeURIComponent(match[1]);
  return request;
}

/**
 * The browsable API reference at /docs, built from the same document as /openapi.json.
 * Its page and assets are public: every route registered in this scope is marked so, and the
 * lock-down test lists them. The page, its scripts and styles are files on this origin; they get
 * a Content-Security-Policy of their own, stricter than the app's (security-headers.ts: nothing
 * but its own scripts, styles, images and same-origin calls; no forms, no <base>).
 */
export async function docsRoutes(app: GatehouseApp): Promise<void> {
  app.addHook('onRoute', (route) => {
    route.config = { ...(route.config ?? {}), access: 'public' };
  });
  // Runs after the app-wide headers hook (registered before this scope), replacing its policy.
  app.addHook('onSend', (_request, reply, payload, done) => {
    reply.header('content-security-policy', DOCS_CSP_HEADER);
    done(null, payload);
  });
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    staticCSP: false,
    // "Try it out" calls the origin the page came from (PUBLIC_URL may name another, e.g. behind a proxy).
    transformSpecification: (spec) => ({ ...spec, servers: [{ url: '/', description: 'This server' }] }),
    theme: { title: 'Gatehouse API' },
    // BaseLayout: no top bar, whose logo is an inline <style> the CSP refuses and whose URL box
    // would load documents from elsewhere.
    uiConfig: { layout: 'BaseLayout', deepLinking: true, displayRequestDuration: true, requestInterceptor: addCsrfHeader },
  });
}
