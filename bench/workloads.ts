import type { Request } from 'autocannon';
import { seedUsername } from './database.js';
import { describe, runLoad, warmUp } from './load.js';
import type { LoadResult, LoadSpec } from './load.js';

/** The password of every seeded user (one bcrypt hash shared by all of them). */
export const SEED_PASSWORD = 'bench-Correct-Horse-4271';
export const WRONG_PASSWORD = 'bench-Wrong-Horse-4271';
/** Logged-in users whose cookies and bearer tokens W3, W3b and W4 spread over their connections. */
export const CHECK_USERS = 8;
/** Seeded sessions W6 also rotates through, so the server reads the database rather than its 1 s session cache. */
export const W6_SESSIONS = 1000;
/** Connections of the check workloads (W3, W3b, W4, W6, the floor, the soak). */
const CHECK_CONNECTIONS = 50;

export function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

/** `count` ordinals spread evenly over 1…`of`. */
export function spread(count: number, of: number): number[] {
  const n = Math.min(count, of);
  return Array.from({ length: n }, (_, i) => 1 + Math.floor((i * of) / n));
}

/** GET `path` on 50 connections, each with its share of `headerSets` (cookies or bearer tokens), expecting 200. */
export function checkSpec(title: string, origin: string, duration: number, path: string, headerSets: Array<Record<string, string>>): LoadSpec {
  return {
    title,
    origin,
    path,
    connections: CHECK_CONNECTIONS,
    duration,
    // Connection i sends header sets i, i+50, i+100 … in turn: prebuilt, so the load generator stays cheap.
    perConnection: (index) => {
      const mine = headerSets.filter((_, j) => j % CHECK_CONNECTIONS === index);
      return (mine.length > 0 ? mine : [headerSets[index % headerSets.length] ?? {}]).map((headers): Request => ({ method: 'GET', path, headers }));
    },
    expect: [200],
  };
}

/** The protected host FA asks about; the server runs with FORWARD_AUTH_HOSTS set to it when FA is asked for. */
export const FA_HOST = 'app.bench.example';

/** FA's header sets: W3's cookies plus what Traefik or Caddy adds when it asks /api/authz/forward-auth about a page load. */
export function forwardAuthHeaders(cookieHeaders: Array<Record<string, string>>): Array<Record<string, string>> {
  return cookieHeaders.map((headers) => ({
    ...headers,
    'x-forwarded-proto': 'https',
    'x-forwarded-host': FA_HOST,
    'x-forwarded-uri': '/dashboard?tab=1',
    'x-forwarded-method': 'GET',
    accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
  }));
}

/** A JSON POST whose body `body()` makes anew for every request. */
function postSpec(title: string, origin: string, path: string, connections: number, duration: number, body: () => string, expect: number[]): LoadSpec {
  return {
    title,
    origin,
    path,
    method: 'POST',
    connections,
    duration,
    headers: { 'content-type': 'application/json' },
    body: body(),
    setupRequest: (request) => ({ ...request, body: body() }),
    expect,
  };
}

/** W2: correct logins on 16 connections, cycling through the first `users` seeded users. */
export function loginSpec(origin: string, duration: number, users: number): LoadSpec {
  let next = 0;
  return postSpec('W2 logins', origin, '/login', 16, duration, () => JSON.stringify({ username: seedUsername(1 + (next++ % users)), password: SEED_PASSWORD }), [200]);
}

/** W5: one connection of wrong passwords for existing users. */
export function wrongPasswordSpec(origin: string, duration: number, users: number): LoadSpec {
  let next = 0;
  return postSpec('W5 wrong password', origin, '/login', 1, duration, () => JSON.stringify({ username: seedUsername(1 + (next++ % users)), password: WRONG_PASSWORD }), [401]);
}

/** W5: one connection of usernames nobody has, a new one each time. */
export function unknownUserSpec(origin: string, duration: number): LoadSpec {
  let next = 0;
  return postSpec('W5 unknown user', origin, '/login', 1, duration, () => JSON.stringify({ username: `nobody${next++}`, password: WRONG_PASSWORD }), [401]);
}

/** W1: signups on 8 connections, a unique username per request. */
export function signupSpec(origin: string, duration: number): LoadSpec {
  let next = 0;
  return postSpec('W1 signups', origin, '/signup', 8, duration, () => JSON.stringify({ username: `signup${next++}`, password: SEED_PASSWORD }), [201]);
}

/** Warm up, run, and print one line of results. */
export async function measure(spec: LoadSpec, warmupSeconds = 0): Promise<LoadResult> {
  say(`→ ${spec.title}: ${spec.method ?? 'GET'} ${spec.path}, ${spec.connections} connections, ${spec.duration} s${warmupSeconds > 0 ? ` (after ${warmupSeconds} s warm-up)` : ''}`);
  await warmUp(spec, warmupSeconds);
  const result = await runLoad(spec);
  say(`  ${describe(result)}`);
  return result;
}
