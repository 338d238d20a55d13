import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { AppContext } from '../../context.js';
import { PACKAGE_ROOT } from '../../paths.js';
import type { GatehouseApp } from '../app.js';
import { ensureCsrfCookie } from '../cookies.js';
import { sessionFromCookie } from '../plugins/auth.js';
import { renderAuthPage } from './auth-pages.js';
import type { AuthPageKind } from './auth-pages.js';
import { escapeHtml } from './html.js';
import { safeNextPath } from './next-path.js';

const AUTH_CSS = readFileSync(join(PACKAGE_ROOT, 'src/server/pages/auth.css'), 'utf8');

const NextQuery = Type.Object({ next: Type.Optional(Type.String({ maxLength: 2048 })) });

/** The signed-in principal for a page: the session cookie, or a bearer token for non-browser clients. */
async function pageUser(ctx: AppContext, request: FastifyRequest): Promise<{ username: string } | null> {
  const authorization = request.headers.authorization;
  if (authorization !== undefined) {
    const token = /^Bearer +(\S+)$/i.exec(authorization)?.[1];
    const verified = token ? await ctx.tokens.verifyAccessToken(token) : null;
    return verified?.principal ?? null;
  }
  return (await sessionFromCookie(ctx, request))?.user ?? null;
}

export function sendHtml(reply: FastifyReply, status: number, html: string): FastifyReply {
  return reply.status(status).header('Cache-Control', 'no-store').type('text/html; charset=utf-8').send(html);
}

export function renderNotFoundPage(): string {
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Not found · Gatehouse</title><link rel="stylesheet" href="/auth.css"></head>
<body><main class="auth"><h1>Page not found</h1><p>There is nothing at this address.</p><p><a href="/">Go to the home page</a></p></main></body>
</html>`;
}

function renderHome(username: string): string {
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Gatehouse</title><link rel="stylesheet" href="/auth.css"></head>
<body><main class="auth"><h1>Welcome, ${escapeHtml(username)}!</h1><p><a href="/logout">Log out</a></p></main></body>
</html>`;
}

/** Server-rendered pages: the auth forms and the app shell. */
export async function pageRoutes(app: GatehouseApp, { ctx }: { ctx: AppContext }): Promise<void> {
  for (const kind of ['login', 'signup'] as AuthPageKind[]) {
    app.get(
      `/${kind}`,
      { config: { access: 'public' }, schema: { summary: kind === 'login' ? 'Login form (HTML)' : 'Signup form (HTML)', tags: ['pages'], querystring: NextQuery } },
      async (request, reply) => {
        const next = (request.query as { next?: string }).next;
        if (await sessionFromCookie(ctx, request)) return reply.redirect(safeNextPath(next), 303);
        const csrfToken = ensureCsrfCookie(request, reply, ctx.config);
        const notice = (request.query as { expired?: string }).expired !== undefined ? 'Your session has ended. Please log in again.' : undefined;
        return sendHtml(reply, 200, renderAuthPage(kind, { csrfToken, next: next ? safeNextPath(next) : undefined, notice }));
      },
    );
  }

  app.get('/auth.css', { config: { access: 'public' }, schema: { hide: true } }, async (_request, reply) =>
    reply.header('Cache-Control', 'public, max-age=3600').type('text/css; charset=utf-8').send(AUTH_CSS),
  );

  app.get('/', { config: { access: 'public' }, schema: { summary: 'The web app (HTML); 303 to /login without a session', tags: ['pages'] } }, async (request, reply) => {
    const user = await pageUser(ctx, request);
    if (!user) return reply.redirect('/login', 303);
    ensureCsrfCookie(request, reply, ctx.config);
    return sendHtml(reply, 200, renderHome(user.username));
  });
}
