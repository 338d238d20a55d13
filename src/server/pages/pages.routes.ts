import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fastifyStatic from '@fastify/static';
import { Type } from 'typebox';
import { userJson } from '../../accounts/user-json.js';
import type { Config } from '../../config.js';
import { PACKAGE_ROOT } from '../../paths.js';
import { ensureCsrfCookie } from '../cookies.js';
import type { RoutePlugin } from '../http.js';
import type { Authenticator } from '../plugins/auth.js';
import { APP_ROUTE_PATTERNS, isAdminAppRoute, matchAppRoute } from './app-routes.js';
import { renderAppPage, renderMissingBuildPage } from './app-shell.js';
import { renderAuthPage } from './auth-pages.js';
import type { AuthPageKind } from './auth-pages.js';
import { sendHtml } from './html.js';
import { safeNext } from './next-path.js';
import { WebBuild } from './web-build.js';

const AUTH_CSS = readFileSync(join(PACKAGE_ROOT, 'src/server/pages/auth.css'), 'utf8');

const AuthQuery = Type.Object({
  next: Type.Optional(Type.String({ maxLength: 2048 })),
  expired: Type.Optional(Type.String({ maxLength: 16 })),
});

/** Hashed file names never change content, so browsers may keep them for a year. */
const IMMUTABLE = { maxAge: 31_536_000_000, immutable: true } as const;

/** Where a visitor without a session goes: the login form, which comes back here afterwards. */
function loginRedirect(url: string): string {
  return url === '/' ? '/login' : `/login?next=${encodeURIComponent(url)}`;
}

export interface PageRoutesOptions {
  /** `forwardAuthHosts`: where `next` may also point (safeNext). */
  config: Pick<Config, 'cookieSecure' | 'forwardAuthHosts'>;
  authenticator: Authenticator;
  /** The `vite build` output; web/dist by default. */
  webDistDir?: string | undefined;
}

/** Server-rendered pages: the auth forms, the web app's routes and its hashed assets. */
export const pageRoutes: RoutePlugin<PageRoutesOptions> = async (app, { config, authenticator, webDistDir }) => {
  const web = new WebBuild(webDistDir);
  if ((await web.indexHtml()) === null) {
    app.log.warn({ dir: web.dir }, 'the web app is not built: app pages answer 503 until `npm run build` writes web/dist');
  }

  for (const kind of ['login', 'signup'] as const satisfies readonly AuthPageKind[]) {
    app.get(
      `/${kind}`,
      { config: { access: 'public' }, schema: { summary: kind === 'login' ? 'Login form (HTML)' : 'Signup form (HTML)', tags: ['pages'], querystring: AuthQuery } },
      async (request, reply) => {
        const { next, expired } = request.query;
        if (await authenticator.sessionFromCookie(request)) return reply.redirect(safeNext(next, config.forwardAuthHosts), 303);
        const csrfToken = ensureCsrfCookie(request, reply, config);
        const notice = kind === 'login' && expired !== undefined ? 'Your session has ended. Please log in again.' : undefined;
        return sendHtml(reply, 200, renderAuthPage(kind, { csrfToken, next: next ? safeNext(next, config.forwardAuthHosts) : undefined, notice }));
      },
    );
  }

  app.get('/auth.css', { config: { access: 'public' }, schema: { hide: true } }, async (_request, reply) =>
    reply.header('Cache-Control', 'public, max-age=3600').type('text/css; charset=utf-8').send(AUTH_CSS),
  );

  // The login page's one script (the passkey button), built by Vite from web/src/login-passkey.ts
  // under a fixed name: revalidated on every load, while the chunks it imports are hashed.
  app.get('/login-passkey.js', { config: { access: 'public' }, schema: { hide: true } }, async (_request, reply) => {
    const script = await web.loginScript();
    if (script === null) return reply.callNotFound();
    return reply.header('Cache-Control', 'no-cache').type('text/javascript; charset=utf-8').send(script);
  });

  // The app's routes. Public at the auth layer: without a session the answer is a redirect to
  // the login page, not a 401.
  for (const pattern of APP_ROUTE_PATTERNS) {
    app.get(
      pattern,
      { config: { access: 'public' }, schema: { summary: 'The web app (HTML); 303 to /login without a session', tags: ['pages'] } },
      async (request, reply) => {
        const route = matchAppRoute(request.url.split('?')[0] ?? '');
        if (!route) return reply.callNotFound();
        const user = await authenticator.identify(request);
        if (!user) return reply.redirect(loginRedirect(request.url), 303);
        const indexHtml = await web.indexHtml();
        if (indexHtml === null) return sendHtml(reply, 503, renderMissingBuildPage());
        // The console's pages are a 404 to anyone but an admin (the shell shows them the not-found page).
        const status = isAdminAppRoute(route) && user.role !== 'admin' ? 404 : 200;
        return sendHtml(reply, status, renderAppPage(indexHtml, route, userJson(user)));
      },
    );
  }

  // Vite's hashed files. A scope of their own, so the hook marks only these routes public.
  await app.register(async (assets) => {
    assets.addHook('onRoute', (route) => {
      route.config = { ...(route.config ?? {}), access: 'public' };
    });
    await assets.register(fastifyStatic, {
      root: web.assetsDir,
      prefix: '/assets/',
      decorateReply: false,
      index: false,
      list: false,
      dotfiles: 'ignore',
      suppressWarning: true,
      ...IMMUTABLE,
    });
  });
};
