import type { FastifyPluginAsyncTypebox, TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyBaseLogger, FastifyInstance, RawReplyDefaultExpression, RawRequestDefaultExpression, RawServerDefault } from 'fastify';
import type { AuthPageKind } from './pages/auth-pages.js';
import type { EmailPageKind } from './pages/email-pages.js';

/**
 * The HTTP edge's shared types. Route files (each domain's *.routes.ts) import these, never the
 * app builder that registers them, so the builder stands above the routes and nothing loops back.
 */
export type GatehouseApp = FastifyInstance<RawServerDefault, RawRequestDefaultExpression, RawReplyDefaultExpression, FastifyBaseLogger, TypeBoxTypeProvider>;

/** A plugin of routes whose schemas type their handlers' request (TypeBox): no casts in handlers. */
export type RoutePlugin<Options extends object> = FastifyPluginAsyncTypebox<Options>;


declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * Who may call the route. Routes are locked down unless they say otherwise: no `access` means
     * `user`. `public` routes are listed in test/http/lockdown.test.ts.
     */
    access?: 'public' | 'user' | 'admin';
    /** The Origin rule applies to unsafe requests here even without a session cookie (login CSRF). */
    originRule?: true;
    /** A public route that ends or changes a session: with a live session cookie it needs the CSRF token. */
    csrf?: 'if-session';
    /**
     * An OpenID Connect provider route: oidc-provider answers it in OAuth's shape, under its own
     * rules; the Origin rule and CSRF do not apply, and errors raised before it runs are OAuth-shaped.
     */
    oauth?: true;
    /** A form page whose errors re-render the form instead of answering JSON. */
    formPage?: AuthPageKind | EmailPageKind | 'login-mfa';
  }
}
