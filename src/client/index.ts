/**
 * `gatehouse-auth/client`: a typed client for Gatehouse's HTTP API, for browsers and Node. The
 * types are generated from the server's OpenAPI document (`npm run client:generate` writes
 * ./openapi.ts); the calls are openapi-fetch's, so every path, parameter, body and answer is
 * checked by TypeScript. It uses only `fetch` and friends: nothing here needs Node.
 *
 * Two modes:
 * - **cookie**: a browser session, as Gatehouse's own web app uses it. The session cookie goes
 *   along by itself; the `csrf_token` cookie is echoed in `X-CSRF-Token` on POST, PUT, PATCH and
 *   DELETE. Outside a browser a small cookie jar keeps the cookies (see {@link CookieJar}).
 * - **bearer**: an access token in `Authorization`, for scripts, apps and other services. A 401
 *   `invalid_token` answer refreshes the pair once (`POST /api/token/refresh`; concurrent 401s
 *   share one refresh), hands the rotated pair to `onTokens`, and retries the request once.
 *
 * @example
 * import { createGatehouseClient, unwrap, GatehouseApiError } from 'gatehouse-auth/client';
 *
 * const gatehouse = createGatehouseClient({
 *   mode: 'bearer',
 *   baseUrl: 'https://auth.example.com',
 *   refreshToken: saved.refreshToken,
 *   onTokens: (tokens) => save(tokens), // every new pair; null once the login has ended
 * });
 * const me = await unwrap(gatehouse.GET('/api/me')); // typed: components['schemas']['User']
 * try {
 *   await unwrap(gatehouse.POST('/api/bucketlists', { body: { name: 'Travel' } }));
 * } catch (error) {
 *   if (error instanceof GatehouseApiError && error.code === 'validation_failed') console.log(error.fields);
 *   else throw error;
 * }
 */
import createClient from 'openapi-fetch';
import type { Client, Middleware } from 'openapi-fetch';
import type { components, paths } from './openapi.js';

export type { components, paths } from './openapi.js';

/** The named schemas of the document: `Schemas['User']`, `Schemas['Bucketlist']`, `Schemas['Error']`… */
export type Schemas = components['schemas'];

/** The contract's error body: `{"error": {"code", "message", "fields"?}}` (docs/errors.md). */
export type ErrorBody = Schemas['Error'];

/** A field name → what is wrong with it (422 `validation_failed`). */
export type FieldErrors = Record<string, string>;

/** An openapi-fetch client over Gatehouse's paths. */
export type GatehouseClient = Client<paths>;

/** The tokens of a bearer-mode login, as the client keeps them. */
export interface GatehouseTokens {
  accessToken: string;
  refreshToken: string;
}

/** A bearer-mode client: the calls, and the tokens it sends. */
export interface GatehouseBearerClient extends GatehouseClient {
  /** The pair in use, or null when there is none (not logged in, or the login ended). */
  tokens(): GatehouseTokens | null;
  /** Replace the pair (e.g. null after logging out). `onTokens` is not called for this. */
  setTokens(tokens: GatehouseTokens | null): void;
}

interface CommonOptions {
  /** Gatehouse's origin (its PUBLIC_URL), e.g. `https://auth.example.com`. Default `''`: the page's own origin (browsers only). */
  baseUrl?: string;
  /** The fetch to use; `globalThis.fetch` by default. */
  fetch?: (request: Request) => Promise<Response>;
  /** Headers sent on every request (besides `Accept: application/json`). */
  headers?: Record<string, string>;
}

export interface CookieModeOptions extends CommonOptions {
  mode: 'cookie';
  /** `'same-origin'` (default) or `'include'`, for a page on another origin that shares the cookies (COOKIE_DOMAIN). */
  credentials?: 'same-origin' | 'include';
  /**
   * Where the cookies live outside a browser (Node and other runtimes without `document.cookie`).
   * By default a new, empty jar there; ignored in a browser, which keeps the cookies itself.
   */
  cookieJar?: CookieJar;
}

export interface BearerModeOptions extends CommonOptions {
  mode: 'bearer';
  /** The access token to start with (omit it to start from a refresh token alone). */
  accessToken?: string;
  /** The refresh token to start with (e.g. the one saved after the last run). */
  refreshToken?: string;
  /**
   * Called with every new pair the client receives: the answer of `POST /api/token` or
   * `/api/token/mfa` made through it, and each refresh (the old refresh token is spent: save the
   * new one). Called with null when a refresh is refused (the login ended: log in again).
   */
  onTokens?: (tokens: GatehouseTokens | null) => void | Promise<void>;
}

export type GatehouseClientOptions = CookieModeOptions | BearerModeOptions;

const UNSAFE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const CSRF_COOKIE = 'csrf_token';
const CSRF_HEADER = 'X-CSRF-Token';
/** The routes that answer with a new pair; the client takes it. */
const LOGIN_PATHS = new Set(['/api/token', '/api/token/mfa']);

/** An answer that is not the contract's, in words fit to show a person. */
function messageForStatus(status: number): string {
  if (status === 429) return 'Too many requests. Wait a moment and try again.';
  if (status >= 500) return 'The server could not handle the request. Try again in a moment.';
  return `The request failed (HTTP ${status}).`;
}

/**
 * An error answer of the API, or no answer at all (`status` 0, code `network_error`). Switch on
 * `code` (stable, listed in docs/errors.md), never on `message` (for people). An answer that is
 * not the contract's JSON (a proxy's error page) has code `http_error`.
 *
 * @example if (error instanceof GatehouseApiError && error.code === 'reauthentication_required') askForPassword();
 */
export class GatehouseApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly fields?: FieldErrors,
  ) {
    super(message);
    this.name = 'GatehouseApiError';
  }

  /** The error an answer carries: its `{error: {code, message, fields?}}` body, or one made from its status. */
  static fromAnswer(status: number, body: unknown): GatehouseApiError {
    const error = body !== null && typeof body === 'object' ? (body as { error?: unknown }).error : undefined;
    const fields = error !== null && typeof error === 'object' ? (error as { code?: unknown; message?: unknown; fields?: unknown }) : {};
    const code = typeof fields.code === 'string' ? fields.code : 'http_error';
    const message = typeof fields.message === 'string' ? fields.message : messageForStatus(status);
    const details = fields.fields !== null && typeof fields.fields === 'object' ? (fields.fields as FieldErrors) : undefined;
    return new GatehouseApiError(status, code, message, details);
  }
}

/** What every openapi-fetch call resolves to. */
export interface ApiAnswer {
  data?: unknown;
  error?: unknown;
  response: Response;
}

type SuccessData<A> = A extends { data: infer D } ? D : never;
/** The data of an answer's success side; `undefined` for a route whose success has no body (204). */
export type AnswerData<A> = [SuccessData<A>] extends [never] ? undefined : SuccessData<A>;

function isAbort(error: unknown): boolean {
  return error !== null && typeof error === 'object' && (error as { name?: unknown }).name === 'AbortError';
}

/**
 * The data of a successful answer (`undefined` for 204), or a thrown {@link GatehouseApiError}:
 * the contract's error for an error answer, `network_error` (status 0) when the server could not
 * be reached. An aborted request rethrows the AbortError as it is.
 *
 * @example const page = await unwrap(client.GET('/api/bucketlists', { params: { query: { page: 2 } }, signal }));
 */
export async function unwrap<A extends ApiAnswer>(call: Promise<A>): Promise<AnswerData<A>> {
  let answer: A;
  try {
    answer = await call;
  } catch (error) {
    // fetch rejects with a TypeError when there is no answer (offline, refused, DNS, CORS).
    if (!isAbort(error) && error instanceof TypeError) {
      throw new GatehouseApiError(0, 'network_error', 'Could not reach the server. Check your connection and try again.');
    }
    throw error;
  }
  if (answer.response.ok) return answer.data as AnswerData<A>;
  throw GatehouseApiError.fromAnswer(answer.response.status, answer.error);
}

/**
 * The cookies of cookie mode outside a browser: what the server sets, sent back with every
 * request to it. One jar per server; it keeps names and values only (no domains, paths or
 * expiry dates), and forgets a cookie the server clears.
 *
 * @example const jar = new CookieJar(); createGatehouseClient({ mode: 'cookie', baseUrl, cookieJar: jar }); jar.get('csrf_token');
 */
export class CookieJar {
  readonly #cookies = new Map<string, string>();

  get(name: string): string | undefined {
    return this.#cookies.get(name);
  }

  set(name: string, value: string): void {
    this.#cookies.set(name, value);
  }

  delete(name: string): void {
    this.#cookies.delete(name);
  }

  /** The `Cookie` header value, or '' when the jar is empty. */
  header(): string {
    return Array.from(this.#cookies, ([name, value]) => `${name}=${value}`).join('; ');
  }

  /** Take the cookies an answer sets; one set to expire (Max-Age=0, a past Expires) is removed. */
  store(response: Response): void {
    for (const line of response.headers.getSetCookie()) {
      const [pair = '', ...attributes] = line.split(';');
      const at = pair.indexOf('=');
      if (at <= 0) continue;
      const name = pair.slice(0, at).trim();
      const value = pair.slice(at + 1).trim();
      const cleared = attributes.some((attribute) => {
        const [key = '', ...rest] = attribute.split('=');
        const setting = rest.join('=').trim();
        if (key.trim().toLowerCase() === 'max-age') return Number(setting) <= 0;
        if (key.trim().toLowerCase() === 'expires') return Date.parse(setting) <= Date.now();
        return false;
      });
      if (cleared) this.#cookies.delete(name);
      else this.#cookies.set(name, value);
    }
  }
}

/** `document.cookie` where there is one (a browser), else undefined. */
function documentCookies(): string | undefined {
  const doc = (globalThis as { document?: { cookie?: unknown } }).document;
  return typeof doc?.cookie === 'string' ? doc.cookie : undefined;
}

/** The value of a cookie in a `document.cookie` string. */
function cookieValue(cookies: string, name: string): string | undefined {
  for (const part of cookies.split(';')) {
    const [key, ...rest] = part.trim().split('=');
    if (key === name) return decodeURIComponent(rest.join('='));
  }
  return undefined;
}

function cookieMode(options: CookieModeOptions): Middleware {
  const jar = documentCookies() === undefined ? (options.cookieJar ?? new CookieJar()) : undefined;
  return {
    onRequest({ request }) {
      if (jar) {
        const header = jar.header();
        if (header) request.headers.set('Cookie', header);
      }
      if (UNSAFE_METHODS.has(request.method)) {
        // Read per request: logging in again or changing the password sets a new token.
        const token = jar ? jar.get(CSRF_COOKIE) : cookieValue(documentCookies() ?? '', CSRF_COOKIE);
        if (token) request.headers.set(CSRF_HEADER, token);
      }
      return request;
    },
    onResponse({ response }) {
      jar?.store(response);
    },
  };
}

/** The access token a request went out with, and a copy of it to send again. */
interface Sent {
  accessToken: string;
  retry: Request;
}

async function errorCode(response: Response): Promise<string | undefined> {
  try {
    const body: unknown = await response.clone().json();
    return GatehouseApiError.fromAnswer(response.status, body).code;
  } catch {
    return undefined;
  }
}

function tokensOf(data: unknown): GatehouseTokens | null {
  const pair = data as { access_token?: unknown; refresh_token?: unknown } | null;
  return typeof pair?.access_token === 'string' && typeof pair.refresh_token === 'string' ? { accessToken: pair.access_token, refreshToken: pair.refresh_token } : null;
}

function bearerMode(options: BearerModeOptions, refresher: GatehouseClient) {
  // An empty string is "none": a client may start from a refresh token alone, or an access token alone.
  let tokens: GatehouseTokens | null = options.accessToken || options.refreshToken ? { accessToken: options.accessToken ?? '', refreshToken: options.refreshToken ?? '' } : null;
  let refreshing: Promise<string | null> | null = null;
  const sent = new WeakMap<Request, Sent>();

  async function changed(next: GatehouseTokens | null): Promise<void> {
    tokens = next;
    await options.onTokens?.(next);
  }

  async function refresh(): Promise<string | null> {
    const refreshToken = tokens?.refreshToken;
    if (!refreshToken) return null;
    let answer;
    try {
      answer = await refresher.POST('/api/token/refresh', { body: { refresh_token: refreshToken } });
    } catch {
      return null; // no answer: the caller gets its 401, and the pair stays for the next try
    }
    const next = tokensOf(answer.data);
    if (next) {
      await changed(next);
      return next.accessToken;
    }
    // 401: the refresh token is spent, revoked or expired, so the login has ended. Anything else
    // (429, 503) says nothing about it: keep the pair.
    if (answer.response.status === 401 && tokens?.refreshToken === refreshToken) await changed(null);
    return null;
  }

  /** A fresh access token for a request that went out with `used`: one refresh, however many ask at once. */
  function freshAccessToken(used: string): Promise<string | null> {
    // Another request already refreshed since this one went out: use its pair.
    if (tokens?.accessToken && tokens.accessToken !== used) return Promise.resolve(tokens.accessToken);
    refreshing ??= refresh().finally(() => {
      refreshing = null;
    });
    return refreshing;
  }

  const middleware: Middleware = {
    async onRequest({ request, schemaPath }) {
      // The token routes take credentials in their bodies.
      if (schemaPath.startsWith('/api/token') || !tokens) return undefined;
      // Started from a refresh token alone: get an access token first.
      const accessToken = tokens.accessToken || (await freshAccessToken(''));
      if (!accessToken) return undefined;
      request.headers.set('Authorization', `Bearer ${accessToken}`);
      sent.set(request, { accessToken, retry: request.clone() });
      return request;
    },
    async onResponse({ request, response, schemaPath, options: merged }) {
      if (LOGIN_PATHS.has(schemaPath) && response.ok) {
        const next = tokensOf(await response.clone().json().catch(() => null));
        if (next) await changed(next);
        return undefined;
      }
      const first = sent.get(request);
      sent.delete(request);
      // Only an expired or revoked access token (401 invalid_token) is worth a refresh.
      if (!first || response.status !== 401 || (await errorCode(response)) !== 'invalid_token') return undefined;
      const accessToken = await freshAccessToken(first.accessToken);
      if (!accessToken) return undefined;
      first.retry.headers.set('Authorization', `Bearer ${accessToken}`);
      return merged.fetch(first.retry);
    },
  };
  return {
    middleware,
    tokens: () => (tokens?.accessToken || tokens?.refreshToken ? { ...tokens } : null),
    setTokens: (next: GatehouseTokens | null) => {
      tokens = next ? { ...next } : null;
    },
  };
}

/**
 * A typed client for one Gatehouse server. Its middleware is the innermost: middleware you add
 * with `client.use()` runs before it on the way out and after it on the way back, so it sees the
 * final request and answer (a bearer retry included).
 *
 * @example const api = createGatehouseClient({ mode: 'cookie' }); // in Gatehouse's web app
 * @example const api = createGatehouseClient({ mode: 'bearer', baseUrl: 'https://auth.example.com' });
 *          await api.POST('/api/token', { body: { username, password } }); // the client keeps the pair
 */
export function createGatehouseClient(options: CookieModeOptions): GatehouseClient;
export function createGatehouseClient(options: BearerModeOptions): GatehouseBearerClient;
export function createGatehouseClient(options: GatehouseClientOptions): GatehouseClient | GatehouseBearerClient;
export function createGatehouseClient(options: GatehouseClientOptions): GatehouseClient | GatehouseBearerClient {
  const base = {
    baseUrl: options.baseUrl ?? '',
    headers: { Accept: 'application/json', ...options.headers },
    // Looked up per request, so a fetch replaced after creation (tests, instrumentation) is used.
    fetch: options.fetch ?? ((request: Request) => globalThis.fetch(request)),
  };
  const client = createClient<paths>({ ...base, ...(options.mode === 'cookie' ? { credentials: options.credentials ?? 'same-origin' } : {}) });
  let own: Middleware;
  let extra: Pick<GatehouseBearerClient, 'tokens' | 'setTokens'> | undefined;
  if (options.mode === 'cookie') {
    own = cookieMode(options);
  } else {
    const bearer = bearerMode(options, createClient<paths>(base));
    own = bearer.middleware;
    extra = { tokens: bearer.tokens, setTokens: bearer.setTokens };
  }
  const use = client.use;
  client.use(own);
  // Keep ours last in the list (innermost) whatever is added later.
  client.use = (...middleware) => {
    client.eject(own);
    use(...middleware, own);
  };
  return extra ? Object.assign(client, extra) : client;
}
