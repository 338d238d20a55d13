import type { AppRoute } from './app-routes.js';
import { isAdminAppRoute } from './app-routes.js';
import { escapeHtml } from './html.js';
import { APP_DATA_MARKER, APP_HTML_MARKER } from './web-build.js';

/** What the page needs to show before (and without) the app's JavaScript. */
export interface ShellUser {
  id: number | string;
  username: string;
  email: string | null;
  role: string;
  created_at: string;
}

const TITLES: Record<AppRoute['name'], string> = {
  home: 'Home',
  bucketlists: 'Bucketlists',
  bucketlist: 'Bucketlist',
  account: 'Account',
  admin: 'Admin',
  'admin-users': 'Users · Admin',
  'admin-user': 'User · Admin',
  'admin-audit': 'Audit log · Admin',
  'admin-apps': 'Apps · Admin',
};

/**
 * JSON for a `<script type="application/json">`: never executed, so the strict CSP holds, and with
 * `<`, `>`, `&` and the JS line separators escaped so no value can close the element.
 */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function header(route: AppRoute, username: string, isAdmin: boolean): string {
  const nav = [
    { href: '/', label: 'Home', current: route.name === 'home' },
    { href: '/bucketlists', label: 'Bucketlists', current: route.name === 'bucketlists' || route.name === 'bucketlist' },
    { href: '/account', label: 'Account', current: route.name === 'account' },
    // The admin console: listed for admins only, as in the app.
    ...(isAdmin ? [{ href: '/admin', label: 'Admin', current: isAdminAppRoute(route) }] : []),
  ]
    .map((item) => `<li><a href="${item.href}"${item.current ? ' aria-current="page"' : ''}>${item.label}</a></li>`)
    .join('');
  // Mirrors web/src/app/Layout.tsx, so nothing moves when the app takes over. Log out works
  // without JavaScript too: GET /logout ends the session.
  return `<a class="skip-link" href="#main">Skip to main content</a><header class="site-header"><div class="site-header__inner"><a class="brand" href="/">Gatehouse</a><nav class="site-nav" aria-label="Main"><ul>${nav}</ul></nav><div class="account"><span class="account__name">Signed in as <strong>${escapeHtml(
    username,
  )}</strong></span><form class="logout" method="get" action="/logout"><button type="submit" class="button button--secondary button--small">Log out</button></form></div></div></header>`;
}

const NEEDS_SCRIPT =
  '<noscript><p class="notice">Managing bucketlists needs JavaScript. Your account pages (log in, sign up, log out) work without it.</p></noscript>';
const ACCOUNT_NEEDS_SCRIPT =
  '<noscript><p class="notice">This page needs JavaScript: it lists where you are signed in, changes your email address and your password, and deletes your account. Logging out works without it.</p></noscript>';

const ADMIN_NEEDS_SCRIPT = '<noscript><p class="notice">The admin console needs JavaScript. The admin API and the CLI work without it.</p></noscript>';

function mainContent(route: AppRoute, username: string): string {
  switch (route.name) {
    case 'home':
      return `<h1 tabindex="-1">Welcome, ${escapeHtml(username)}!</h1><p class="lead">Gatehouse keeps your account safe and your bucketlists in one place.</p><section class="card" aria-labelledby="home-bucketlists"><h2 id="home-bucketlists">Your bucketlists</h2><p><a class="button" href="/bucketlists">Go to your bucketlists</a></p></section>`;
    case 'bucketlists':
      return `<h1 tabindex="-1">Your bucketlists</h1><p class="status">Loading your bucketlists…</p>${NEEDS_SCRIPT}`;
    case 'bucketlist':
      return `<p class="back"><a href="/bucketlists"><span aria-hidden="true">← </span>All bucketlists</a></p><h1 tabindex="-1">Bucketlist</h1><p class="status">Loading the bucketlist…</p>${NEEDS_SCRIPT}`;
    case 'account':
      return `<h1 tabindex="-1">Your account</h1><p class="status">Loading your account…</p>${ACCOUNT_NEEDS_SCRIPT}`;
    case 'admin':
    case 'admin-users':
    case 'admin-user':
    case 'admin-audit':
    case 'admin-apps':
      return `<h1 tabindex="-1">Admin</h1><p class="status">Loading the admin console…</p>${ADMIN_NEEDS_SCRIPT}`;
  }
}

/** What a non-admin sees at an admin page: the app's not-found page (the admin API answers them 403). */
const NOT_FOUND_CONTENT = '<h1 tabindex="-1">Page not found</h1><p>There is nothing at this address.</p><p><a href="/">Go to the home page</a></p>';

/**
 * The app's page for one route: the built index.html with the page already rendered inside
 * `<div id="root">` (the greeting is there without JavaScript) and the signed-in user as JSON
 * for the app, which then takes over.
 */
export function renderAppPage(indexHtml: string, route: AppRoute, user: ShellUser): string {
  const isAdmin = user.role === 'admin';
  const refused = isAdminAppRoute(route) && !isAdmin;
  const markup = `${header(route, user.username, isAdmin)}<main id="main" class="page" tabindex="-1">${refused ? NOT_FOUND_CONTENT : mainContent(route, user.username)}</main>`;
  const data = `<script type="application/json" id="gatehouse-data">${jsonForScript({ user })}</script>`;
  // Functions as replacements: a `$` in a username must not be read as a replacement pattern.
  return indexHtml
    .replace(/<title>[^<]*<\/title>/, () => `<title>${refused ? 'Page not found' : TITLES[route.name]} · Gatehouse</title>`)
    .replace(APP_HTML_MARKER, () => markup)
    .replace(APP_DATA_MARKER, () => data);
}

/** Said instead of crashing when the server runs without a web build (e.g. straight from the sources). */
export function renderMissingBuildPage(): string {
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><link rel="icon" href="data:,"><title>Web app not built · Gatehouse</title><link rel="stylesheet" href="/auth.css"></head>
<body><main class="auth"><h1>The web app is not built</h1><p>This server has no build of the web app (web/dist is missing). Run <code>npm run build</code> (<code>npm start</code> does it for you), then reload this page.</p><p>The API, <a href="/login">log in</a> and <a href="/signup">sign up</a> work without it.</p></main></body>
</html>`;
}
