/**
 * The OpenID Connect tests' pieces: a server whose PUBLIC_URL is the address it is reached at
 * (a TCP forwarder on a port chosen first, since the test server listens on a port it picks
 * itself), openid-client as the relying party, and a cookie-jar "browser" that follows redirects
 * on Gatehouse and stops at the app's redirect URI or at a page, and submits a page's form.
 */
import assert from 'node:assert/strict';
import { connect, createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import * as oidc from 'openid-client';
import { startTestServer } from './app.js';
import type { TestServer } from './app.js';
import { TestClient } from './http.js';
import type { TestResponse } from './http.js';

export const REDIRECT_URI = 'https://app.example/callback';
export const POST_LOGOUT_URI = 'https://app.example/logged-out';

/**
 * startTestServer, reached through a forwarder on a port known before the config is read, so
 * that PUBLIC_URL (the issuer) is the address the tests and the browser use.
 */
export async function startOidcServer(env: Record<string, string> = {}, options: { clock?: () => number } = {}): Promise<TestServer> {
  const sockets = new Set<Socket>();
  let targetPort = 0;
  const front: Server = createServer((socket) => {
    const upstream = connect(targetPort, '127.0.0.1');
    for (const s of [socket, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {
        socket.destroy();
        upstream.destroy();
      });
    }
    socket.pipe(upstream).pipe(socket);
  });
  await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
  const address = front.address();
  assert.ok(address && typeof address === 'object');
  const publicUrl = `http://127.0.0.1:${address.port}`;
  const server = await startTestServer({ PUBLIC_URL: publicUrl, ...env }, options);
  targetPort = Number(new URL(server.url).port);
  return {
    ...server,
    url: publicUrl,
    client: () => new TestClient(publicUrl),
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => front.close(() => resolve()));
      await server.close();
    },
  };
}

export interface RegisteredClient {
  client_id: string;
  client_secret?: string;
  client_name: string;
  redirect_uris: string[];
  post_logout_redirect_uris: string[];
  token_endpoint_auth_method: string;
  first_party: boolean;
  created_at: string;
}

/** Register an app through the admin API (as `admin`, a signed-in admin client). */
export async function registerClient(admin: TestClient, body: Record<string, unknown> = {}): Promise<RegisteredClient> {
  const res = await admin.send<RegisteredClient>('POST', '/api/admin/oidc/clients', {
    client_name: 'Example App',
    redirect_uris: [REDIRECT_URI],
    post_logout_redirect_uris: [POST_LOGOUT_URI],
    ...body,
  });
  assert.equal(res.status, 201, res.text);
  return res.body;
}

/** openid-client configured from discovery alone, for a registered app. */
export async function relyingParty(server: TestServer, client: RegisteredClient): Promise<oidc.Configuration> {
  const auth = client.token_endpoint_auth_method === 'none' ? oidc.None() : client.token_endpoint_auth_method === 'client_secret_post' ? oidc.ClientSecretPost(client.client_secret) : oidc.ClientSecretBasic(client.client_secret);
  return oidc.discovery(new URL(server.url), client.client_id, { redirect_uris: client.redirect_uris }, auth, { execute: [oidc.allowInsecureRequests] });
}

/** Where a browser ended up: a Gatehouse page (HTML, not a redirect), or the app's redirect URI. */
export type Landing = { kind: 'page'; url: string; res: TestResponse<string> } | { kind: 'app'; url: URL; res: TestResponse<string> };

/**
 * Follow redirects like a browser with this client's cookie jar, as long as they stay on
 * Gatehouse (PUBLIC_URL); a 307/308 repeats the method and body. Stops at the first answer that
 * is not a redirect, or at a redirect to another origin (the app).
 */
export async function browse(browser: TestClient, start: string, first: { method?: string; form?: Record<string, string> } = {}): Promise<Landing> {
  let url = new URL(start, browser.baseUrl).href;
  let method = first.method ?? 'GET';
  let form = first.form;
  const origin = new URL(browser.baseUrl).origin;
  for (let hops = 0; hops < 20; hops += 1) {
    const path = url.slice(origin.length);
    const headers: Record<string, string> = method === 'POST' ? { origin } : {};
    const res = await browser.request<string>(method, path, form ? { form, headers } : { headers });
    const location = res.headers.get('location');
    if (res.status < 300 || res.status >= 400 || !location) return { kind: 'page', url, res };
    const next = new URL(location, url);
    if (next.origin !== origin) return { kind: 'app', url: next, res };
    if (res.status !== 307 && res.status !== 308) {
      method = 'GET';
      form = undefined;
    }
    url = next.href;
  }
  throw new Error(`too many redirects from ${start}`);
}

function unescapeHtml(text: string): string {
  return text.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

/** A page's (first) POST form: its action and hidden fields. */
export function formOf(page: Landing): { action: string; hidden: Record<string, string> } {
  assert.equal(page.kind, 'page', `expected a page, got a redirect to ${page.url}`);
  const html = page.res.text;
  const form = /<form method="post" action="([^"]*)"[^>]*>([\s\S]*?)<\/form>/.exec(html);
  assert.ok(form?.[1] !== undefined && form[2] !== undefined, `no form on ${page.url}: ${html.slice(0, 400)}`);
  const hidden: Record<string, string> = {};
  for (const input of form[2].matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"\s*\/?>/g)) hidden[input[1] ?? ''] = unescapeHtml(input[2] ?? '');
  return { action: unescapeHtml(form[1]), hidden };
}

/** Submit a page's form with these fields (and its hidden ones), then follow as browse() does. */
export async function submit(browser: TestClient, page: Landing, fields: Record<string, string>): Promise<Landing> {
  const { action, hidden } = formOf(page);
  return browse(browser, action, { method: 'POST', form: { ...hidden, ...fields } });
}

/** The parameters of an authorization request with PKCE (S256), and what the callback check needs. */
export async function authorizationRequest(rp: oidc.Configuration, parameters: Record<string, string> = {}): Promise<{ url: URL; verifier: string; state: string; nonce: string }> {
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const nonce = oidc.randomNonce();
  const url = oidc.buildAuthorizationUrl(rp, {
    redirect_uri: REDIRECT_URI,
    scope: 'openid profile email',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce,
    ...parameters,
  });
  return { url, verifier, state, nonce };
}
