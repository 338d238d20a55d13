import { createHmac } from 'node:crypto';
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

/**
 * The TOTP secret (base32, 160 bits) every W7 user shares: the bench seeds it, sealed as the server
 * stores it, and makes their codes from it. One secret is enough: the server keeps each user's last
 * accepted time step apart, and a code is checked against the user's own row.
 */
export const TOTP_SECRET = 'GATEHOUSEBENCHTOTPSECRETSHARED23';
/** RFC 6238 as src/mfa/totp.ts uses it: 30-second steps, 6 digits, HMAC-SHA1. */
const TOTP_STEP_SECONDS = 30;

function base32Bytes(base32: string): Buffer {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const bytes: number[] = [];
  let value = 0;
  let bits = 0;
  for (const char of base32) {
    value = (value << 5) | alphabet.indexOf(char);
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      bytes.push((value >>> bits) & 0xff);
    }
  }
  return Buffer.from(bytes);
}

/** RFC 6238's code for time step `step`: HMAC-SHA1 over the big-endian step counter, dynamic truncation (RFC 4226 §5.3). */
export function totpCode(key: Buffer, step: number): string {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const mac = createHmac('sha1', key).update(counter).digest();
  const offset = (mac[mac.length - 1] ?? 0) & 0x0f;
  return String((mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000).padStart(6, '0');
}

/**
 * W7's users: enough that none comes round within one time step even at twice the physical login
 * limit (logins are bcrypt-bound, so no storm runs faster), and never fewer than 2000.
 */
export function totpPoolSize(loginLimitPerSecond: number): number {
  return Math.max(2000, Math.ceil(2 * loginLimitPerSecond * TOTP_STEP_SECONDS));
}

/**
 * The seeded users with TOTP on, `seed<first>` … `seed<first + count - 1>`, taken in turn. The
 * server accepts a time step once per user (users.totp_last_step must grow; codes of steps T−1, T
 * and T+1 are tried), so this remembers the step it last sent for each user: a user who comes
 * round again within one step gets the next step's code, which the server still takes; a third
 * time in one step would be refused (a 401, which makes the row INVALID), and the pool's size
 * (totpPoolSize) keeps that from happening.
 */
export class TotpUsers {
  readonly #key = base32Bytes(TOTP_SECRET);
  readonly #lastStep = new Map<number, number>();
  #next = 0;

  constructor(
    readonly first: number,
    readonly count: number,
  ) {}

  /** The next user's ordinal, in turn. */
  next(): number {
    return this.first + (this.#next++ % this.count);
  }

  /** The code to send for `ordinal` now, its step counted as spent. */
  code(ordinal: number): string {
    const now = Math.floor(Date.now() / 1000 / TOTP_STEP_SECONDS);
    const step = Math.min(now + 1, Math.max(now, (this.#lastStep.get(ordinal) ?? 0) + 1));
    this.#lastStep.set(ordinal, step);
    return totpCode(this.#key, step);
  }
}

/**
 * W7's storm: two-step logins on 16 connections, as W2's. Each pass is POST /login with a TOTP
 * user's password (200 with an mfa_token, no session), then POST /login/mfa with that token and the
 * current code (200 with the session). A pass whose first answer carries no token is abandoned.
 * `rps` counts whole logins, two requests each.
 */
export function twoStepLoginSpec(origin: string, duration: number, users: TotpUsers): LoadSpec {
  return {
    title: 'W7 two-step logins',
    origin,
    path: '/login',
    method: 'POST',
    connections: 16,
    duration,
    headers: { 'content-type': 'application/json' },
    sequence: [
      {
        path: '/login',
        body: (context) => {
          const ordinal = users.next();
          context.ordinal = ordinal;
          return JSON.stringify({ username: seedUsername(ordinal), password: SEED_PASSWORD });
        },
        onResponse: (status, body, context) => {
          if (status === 200) context.mfaToken = (JSON.parse(body) as { mfa_token?: string }).mfa_token;
        },
      },
      {
        path: '/login/mfa',
        body: (context) => {
          const { ordinal, mfaToken } = context;
          if (typeof ordinal !== 'number' || typeof mfaToken !== 'string') return null;
          return JSON.stringify({ mfa_token: mfaToken, code: users.code(ordinal) });
        },
      },
    ],
    expect: [200],
  };
}

/** Warm up, run, and print one line of results. */
export async function measure(spec: LoadSpec, warmupSeconds = 0): Promise<LoadResult> {
  say(`→ ${spec.title}: ${spec.method ?? 'GET'} ${spec.path}, ${spec.connections} connections, ${spec.duration} s${warmupSeconds > 0 ? ` (after ${warmupSeconds} s warm-up)` : ''}`);
  await warmUp(spec, warmupSeconds);
  const result = await runLoad(spec);
  say(`  ${describe(result)}`);
  return result;
}
