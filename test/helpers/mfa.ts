/**
 * TOTP for the tests, written apart from the server's (which uses otpauth): RFC 4648 base32 and
 * RFC 4226/6238 HOTP with node:crypto, checked against RFC 6238's test vectors in
 * test/http/mfa.test.ts. Plus the steps every MFA test repeats: turning TOTP on for a signed-in
 * client, and reaching a login's second step.
 */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import type { TestServer } from './app.js';
import { GOOD_PASSWORD } from './app.js';
import type { TestClient } from './http.js';

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
/** RFC 6238's X: a code belongs to a 30-second step. */
export const STEP_MS = 30_000;

/** RFC 4648 base32 (padding and case ignored) to bytes. */
export function base32Decode(text: string): Buffer {
  const clean = text.replace(/=+$/, '').toUpperCase();
  let bits = 0;
  let value = 0;
  const out: number[] = [];
  for (const char of clean) {
    const index = BASE32.indexOf(char);
    if (index === -1) throw new Error(`not base32: ${char}`);
    value = (value << 5) | index;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

/** RFC 4226 HOTP with HMAC-SHA-1 and dynamic truncation. */
export function hotp(key: Buffer, counter: number, digits = 6): string {
  const message = Buffer.alloc(8);
  message.writeBigUInt64BE(BigInt(counter));
  const mac = createHmac('sha1', key).update(message).digest();
  const offset = (mac[mac.length - 1] ?? 0) & 0x0f;
  const binary = mac.readUInt32BE(offset) & 0x7fffffff;
  return String(binary % 10 ** digits).padStart(digits, '0');
}

/** The time step of a moment (T in RFC 6238, T0 = 0). */
export function stepOf(ms: number): number {
  return Math.floor(ms / STEP_MS);
}

/** The 6-digit code of a base32 secret for the step `ms` falls in. */
export function totpCode(secret: string, ms: number): string {
  return hotp(base32Decode(secret), stepOf(ms));
}

/** A code that is none of the three the window accepts right now. */
export function wrongCode(secret: string, now: number): string {
  const near = new Set([-1, 0, 1].map((k) => totpCode(secret, now + k * STEP_MS)));
  for (let n = 0; ; n += 1) {
    const code = String(n).padStart(6, '0');
    if (!near.has(code)) return code;
  }
}

/** The payload of a JWT, unverified (the tests read `amr`). */
export function jwtClaims(token: string): Record<string, unknown> {
  const [, payload = ''] = token.split('.');
  return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
}

export interface EnrolledTotp {
  secret: string;
  otpauthUri: string;
  recoveryCodes: string[];
}

/**
 * Turn TOTP on for a signed-in client (its sign-in must be recent): start, confirm with the code of
 * `now`. The confirming step is then spent: a login needs a later step (advance the clock 30 s).
 */
export async function enableTotp(client: TestClient, now: number): Promise<EnrolledTotp> {
  const begin = await client.send<{ secret: string; otpauth_uri: string }>('POST', '/api/me/mfa/totp', {});
  assert.equal(begin.status, 201, begin.text);
  const confirm = await client.send<{ recovery_codes: string[] }>('POST', '/api/me/mfa/totp/confirm', { code: totpCode(begin.body.secret, now) });
  assert.equal(confirm.status, 200, confirm.text);
  return { secret: begin.body.secret, otpauthUri: begin.body.otpauth_uri, recoveryCodes: confirm.body.recovery_codes };
}

export interface MfaRequired {
  mfa_required: true;
  mfa_token: string;
  methods: string[];
  expires_in: number;
}

/** The password step of a token login for a user with MFA: its 200 answer, asserted to be the second step's. */
export async function passwordStep(server: TestServer, username: string, path: '/login' | '/api/token' = '/api/token', client: TestClient = server.client()): Promise<MfaRequired> {
  const res = await client.post<MfaRequired>(path, { username, password: GOOD_PASSWORD });
  assert.equal(res.status, 200, res.text);
  assert.equal(res.body.mfa_required, true, res.text);
  return res.body;
}
