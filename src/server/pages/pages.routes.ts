import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { userJson } from '../../accounts/user-json.js';
import type { AppContext } from '../../context.js';
import { PACKAGE_ROOT } from '../../paths.js';
import type { GatehouseApp } from '../app.js';
import { ensureCsrfCookie } from '../cookies.js';
import { principalOf, sessionFromCookie } from '../plugins/auth.js';
import type { Principal } from '../plugins/auth.js';
import { APP_ROUTE_PATTERNS, matchAppRoute } from './app-routes.js';
import { renderAppPage, renderMissingBuildPage } from './app-shell.js';
import { renderAuthPage } from './auth-pages.js';
import type { AuthPageKind } from './auth-pages.js';
import { safeNextPath } from './next-path.js';
import { WebBuild } from './web-build.js';

const AUTH_CSS = readFileSync(join(PACKAGE_ROOT, 'src/server/pages/auth.css'), 'utf8');

const AuthQuery = Type.Object({
  next: Type.Optional(Type.String({ maxLength: 2048 })),
  expired: Type.Optional(Type.String({ maxLength: 16 })),
});

/** Hashed file names never change content, so browsers may keep them for a year. */
const IMMUTABLE = { maxAge: 31_536_000_000, immutable: true } as const;

/** The signed-in principal for a page: the session cookie, or a bearer token for non-browser clients. */
async function pageUser(ctx: AppContext, request: FastifyRequest): Promise<Principal | null> {
  const authorization = request.headers.authorization;
  if (authorization !== undefined) {
    // As on the API, a present Authorization header is the only credential considered.
    const token = /^Bearer +(\S+)$/i.exec(authorization)?.[1];
    const verified = token ? await ctx.tokens.verifyAccessToken(token) : null;
    return verified?.principal ?? null;
  }
  const session = await sessionFromCookie(ctx, request);
  return session ? principalOf(session.user) : null;
}

export function sendHtml(reply: FastifyReply, status: number, html: string): FastifyReply {
  return reply.status(status).header('Cache-Control', 'no-store').type('text/html; charset=utf-8').send(html);
}

export function renderNotFoundPage(): string {
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><link rel="icon" href="data:,"><title>Page not found · Gatehouse</title><link rel="stylesheet" href="/auth.css"></head>
<body><header class="site-header"><p class="brand">Gatehouse</p></header><main class="auth"><h1>Page not found</h1><p>There is nothing at this address. Check the address, or start again from the home page.</p><p><a href="/">Go to the home page</a></p></main></body>
</html>`;
}

/** Where a visitor without a session goes: the login form, which comes back here afterwards. */
function loginRedirect(url: string): string {
  return url === '/' ? '/login' : `/login?next=${encodeURIComponent(url)}`;
}

export interface PageRoutesOptions {
  ctx: AppContext;
  /** The `vite build` output; web/dist by default. */
  webDistDir?: string | undefined;
}

/** Server-rendered pages: the auth forms, the web app's routes and its hashed assets. */
export async function pageRoutes(app: GatehouseApp, { ctx, webDistDir }: PageRoutesOptions): Promise<void> {
  const web = new WebBuild(webDistDir);
  if ((await web.indexHtml()) === null) {
    app.log.warn({ dir: web.dir }, 'the web app is not built: app pages answer 503 until `npm run build` writes web/dist');
  }

  for (const kind of ['login', 'signup'] as const satisfies readonly AuthPageKind[]) {
    app.get(
      `/${kind}`,
      { config: { access: 'public' }, schema: { summary: kind === 'login' ? 'Login form (HTML)' : 'Signup form (HTML)', tags: ['pages'], querystring: AuthQuery } },
      async (request, reply) => {
        const { next, expired } = request.query as { next?: string; expired?: string };
        if (await sessionFromCookie(ctx, request)) return reply.redirect(safeNextPath(next), 303);
        const csrfToken = ensureCsrfCookie(request, reply, ctx.config);
        const notice = kind === 'login' && expired !== undefined ? 'Your session has ended. Please log in again.' : undefined;
        return sendHtml(reply, 200, renderAuthPage(kind, { csrfToken, next: next ? safeNextPath(next) : undefined, notice }));
      },
    );
  }

  app.get('/auth.css', { config: { access: 'public' }, schema: { hide: true } }, async (_request, reply) =>
    reply.header('Cache-Control', 'public, max-age=3600').type('text/css; charset=utf-8').send(AUTH_CSS),
  );

  // The app's routes. Public at the auth layer: without a session the answer is a redirect to
  // the login page, not a 401.
  for (const pattern of APP_ROUTE_PATTERNS) {
    app.get(
      pattern,
      { config: { access: 'public' }, schema: { summary: 'The web app (HTML); 303 to /login without a session', tags: ['pages'] } },
      async (request, reply) => {
        const route = matchAppRoute(request.url.split('?')[0] ?? '');
        if (!route) return reply.callNotFound();
        const user = await pageUser(ctx, request);
        if (!user) return reply.redirect(loginRedirect(request.url), 303);
        const indexHtml = await web.indexHtml();
        if (indexHtml === null) return sendHtml(reply, 503, renderMissingBuildPage());
        return sendHtml(reply, 200, renderAppPage(indexHtml, route, userJson(user)));
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
}
