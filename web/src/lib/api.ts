/**
 * The one way the app talks to the server: JSON in and out, the session cookie sent along, the
 * CSRF token echoed on unsafe requests, errors as ApiError with the contract's code.
 */

export type FieldErrors = Record<string, string>;

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly fields?: FieldErrors,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** The value of the readable `csrf_token` cookie (the server compares it with the X-CSRF-Token header). */
export function csrfToken(cookies: string = document.cookie): string {
  for (const part of cookies.split(';')) {
    const [name, ...rest] = part.trim().split('=');
    if (name === 'csrf_token') return decodeURIComponent(rest.join('='));
  }
  return '';
}

/** Where a 401 sends the person: the login form, which says the session ended and comes back here. */
export function loginUrlForExpiredSession(loc: Pick<Location, 'pathname' | 'search'> = window.location): string {
  return `/login?expired=1&next=${encodeURIComponent(loc.pathname + loc.search)}`;
}

let leaving = false;

/** Leave for the login page once, however many requests fail together. */
export function sessionExpired(): void {
  if (leaving) return;
  leaving = true;
  window.location.assign(loginUrlForExpiredSession());
}

function messageFor(status: number): string {
  if (status === 429) return 'Too many requests. Wait a moment and try again.';
  if (status >= 500) return 'The server could not handle the request. Try again in a moment.';
  return `The request failed (HTTP ${status}).`;
}

export interface RequestOptions {
  signal?: AbortSignal;
}

/**
 * Call the JSON API.
 *
 * @example const page = await apiRequest<Page<Bucketlist>>('GET', '/api/bucketlists?page=2');
 */
export async function apiRequest<T>(method: string, path: string, body?: unknown, options: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (UNSAFE.has(method)) headers['X-CSRF-Token'] = csrfToken();
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers,
      credentials: 'same-origin',
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
  } catch (error) {
    if (error instanceof DOMException && error.name === 'AbortError') throw error;
    throw new ApiError(0, 'network_error', 'Could not reach the server. Check your connection and try again.');
  }
  if (response.status === 401) {
    sessionExpired();
    throw new ApiError(401, 'unauthenticated', 'Your session has ended. Taking you to the login page…');
  }
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  let parsed: unknown = undefined;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  if (!response.ok) {
    const error = (parsed as { error?: { code?: unknown; message?: unknown; fields?: unknown } } | undefined)?.error;
    const code = typeof error?.code === 'string' ? error.code : 'http_error';
    const message = typeof error?.message === 'string' ? error.message : messageFor(response.status);
    const fields = error?.fields && typeof error.fields === 'object' ? (error.fields as FieldErrors) : undefined;
    throw new ApiError(response.status, code, message, fields);
  }
  return parsed as T;
}

/** A message fit to show a person, whatever was thrown. */
export function errorMessage(error: unknown): string {
  if (error instanceof ApiError) return error.message;
  return 'Something went wrong. Try again.';
}

export function isAbort(error: unknown): boolean {
  return error instanceof DOMException && error.name === 'AbortError';
}
