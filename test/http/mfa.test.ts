/**
 * MFA on the account side, over real HTTP (contract v1.2, "MFA: TOTP and recovery codes" and the
 * re-authentication rules of "Changing the account"): GET /api/me/mfa, enrolment and its
 * confirmation, turning TOTP off, new recovery codes, the admin's lost-device reset, re-authentication
 * with a code or a recovery code, the notices mailed (a real SMTP server), what is stored.
 * The login's second step is test/http/mfa-login.test.ts. Codes come from test/helpers/mfa.ts (a
 * second TOTP implementation, checked here against RFC 6238) on the server's fake clock.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { codeAt } from '../../src/mfa/totp.js';
import { fakeClock, GOOD_PASSWORD, signUpClient, startTestServer, uniqueName } from '../helpers/app.js';
import type { FakeClock, TestServer } from '../helpers/app.js';
import { assertError, assertFields } from '../helpers/assert-error.js';
import type { TestClient } from '../helpers/http.js';
import { linkToken, newestMailTo, mailsTo } from '../helpers/mail-links.js';
import { base32Decode, enableTotp, hotp, passwordStep, STEP_MS, totpCode, wrongCode } from '../helpers/mfa.js';
import { startSmtpServer } from '../helpers/smtp.js';
import type { TestSmtpServer } from '../helpers/smtp.js';

const PUBLIC_URL = 'http://gatehouse.test:8080';
/** Past REAUTH_MAX_AGE (600 s by default): a sign-in is no longer recent. */
const PAST_REAUTH = 601_000;
const KEY_ENCRYPTION_SECRET = 'a test secret that is long enough for the vault';
const ADDED = 'A sign-in method was added to your account';
const REMOVED = 'A sign-in method was removed from your account';
const CODE_USED = 'A recovery code was used';

interface MfaStatus {
  totp: boolean;
  recovery_codes_left: number;
  passkeys: number;
}
interface Tokens {
  access_token: string;
  refresh_token: string;
}

const NO_META = { ip: null, userAgent: null };
const bearer = (access: string) => ({ headers: { authorization: `Bearer ${access}` } });

describe("the tests' own TOTP", () => {
  it("matches RFC 6238's SHA-1 test vectors and the server's codeAt", () => {
    // RFC 6238 appendix B: the ASCII secret "12345678901234567890", 8 digits.
    const key = Buffer.from('12345678901234567890', 'ascii');
    const vectors: Array<[number, string]> = [
      [59, '94287082'],
      [1111111109, '07081804'],
      [1111111111, '14050471'],
      [1234567890, '89005924'],
      [2000000000, '69279037'],
      [20000000000, '65353130'],
    ];
    for (const [seconds, code] of vectors) assert.equal(hotp(key, Math.floor(seconds / 30), 8), code, `T = ${seconds}`);
    assert.deepEqual(base32Decode('GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ'), key);
    for (const ms of [0, 59_000, Date.now(), Date.now() + 29_999]) assert.equal(totpCode('GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ', ms), codeAt('GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ', ms));
  });
});

describe('MFA on the account', () => {
  let server: TestServer;
  let clock: FakeClock;
  let smtp: TestSmtpServer;
  before(async () => {
    smtp = await startSmtpServer();
    clock = fakeClock();
    server = await startTestServer({ SMTP_URL: smtp.url, PUBLIC_URL, KEY_ENCRYPTION_SECRET, RATE_LIMIT_PER_IP: '100000', LOGIN_FAILURES_PER_ACCOUNT: '3' }, { clock });
  });
  after(async () => {
    await server?.close();
    await smtp?.close();
  });

  async function status(client: TestClient): Promise<MfaStatus> {
    const res = await client.get<MfaStatus>('/api/me/mfa');
    assert.equal(res.status, 200, res.text);
    return res.body;
  }

  async function userWithEmail() {
    const username = uniqueName('mfa');
    const email = `${username.toLowerCase()}@example.com`;
    const { client, user } = await signUpClient(server, username, GOOD_PASSWORD, email);
    return { client, user, email };
  }

  async function tokensFor(username: string): Promise<Tokens> {
    const res = await server.client().post<Tokens>('/api/token', { username, password: GOOD_PASSWORD });
    assert.equal(res.status, 200, res.text);
    return res.body;
  }

  async function events(userId: number, event: string) {
    return server.services.db.selectFrom('audit_events').select(['event', 'detail', 'actor_id']).where('user_id', '=', userId).where('event', '=', event).orderBy('id').execute();
  }

  it('GET /api/me/mfa: nothing at first; 401 without a sign-in', async () => {
    const { client } = await signUpClient(server);
    assert.deepEqual(await status(client), { totp: false, recovery_codes_left: 0, passkeys: 0 });
    assertError(await server.client().get('/api/me/mfa'), 401, 'unauthenticated');
  });

  it('POST /api/me/mfa/totp: 201 a base32 secret of at least 160 bits and its otpauth URI; pending until confirmed', async () => {
    const { client, user } = await signUpClient(server);
    const res = await client.send<{ secret: string; otpauth_uri: string }>('POST', '/api/me/mfa/totp', {});
    assert.equal(res.status, 201, res.text);
    assert.deepEqual(Object.keys(res.body).sort(), ['otpauth_uri', 'secret']);
    assert.match(res.headers.get('cache-control') ?? '', /no-store/);
    const { secret } = res.body;
    assert.match(secret, /^[A-Z2-7]+=*$/, 'base32');
    assert.ok(base32Decode(secret).length >= 20, `at least 160 bits (${base32Decode(secret).length * 8})`);
    const uri = new URL(res.body.otpauth_uri);
    assert.equal(uri.protocol, 'otpauth:');
    assert.equal(uri.host, 'totp');
    assert.ok(decodeURIComponent(uri.pathname).includes(user.username), uri.pathname);
    assert.equal(uri.searchParams.get('secret'), secret);
    assert.equal(uri.searchParams.get('issuer'), 'gatehouse.test', "PUBLIC_URL's host");
    for (const [name, value] of [['algorithm', 'SHA1'], ['digits', '6'], ['period', '30']]) {
      const given = uri.searchParams.get(name as string);
      if (given !== null) assert.equal(given, value, name);
    }
    // Pending: no MFA yet, the password alone still signs in.
    assert.equal((await status(client)).totp, false);
    const login = await server.client().post<{ username: string }>('/login', { username: user.username, password: GOOD_PASSWORD });
    assert.equal(login.status, 200);
    assert.equal(login.body.username, user.username);
  });

  it('a second call replaces the pending secret: only the new one confirms', async () => {
    const { client } = await signUpClient(server);
    const first = (await client.send<{ secret: string }>('POST', '/api/me/mfa/totp', {})).body.secret;
    const second = await client.send<{ secret: string }>('POST', '/api/me/mfa/totp', {});
    assert.equal(second.status, 201);
    assert.notEqual(second.body.secret, first);
    assertFields(await client.send('POST', '/api/me/mfa/totp/confirm', { code: totpCode(first, clock()) }), ['code']);
    const confirmed = await client.send('POST', '/api/me/mfa/totp/confirm', { code: totpCode(second.body.secret, clock()) });
    assert.equal(confirmed.status, 200, confirmed.text);
  });

  it('confirm: 10 distinct codes, shown once; TOTP on; 409 for a new enrolment or a second confirmation', async () => {
    const { client } = await signUpClient(server);
    const begin = await client.send<{ secret: string }>('POST', '/api/me/mfa/totp', {});
    const res = await client.send<{ recovery_codes: string[] }>('POST', '/api/me/mfa/totp/confirm', { code: totpCode(begin.body.secret, clock()) });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(Object.keys(res.body), ['recovery_codes']);
    assert.match(res.headers.get('cache-control') ?? '', /no-store/);
    assert.equal(res.body.recovery_codes.length, 10);
    assert.equal(new Set(res.body.recovery_codes).size, 10);
    for (const code of res.body.recovery_codes) assert.ok(code.replace(/[\s-]/g, '').length >= 10, code);
    assert.deepEqual(await status(client), { totp: true, recovery_codes_left: 10, passkeys: 0 });
    assertError(await client.send('POST', '/api/me/mfa/totp', {}), 409, 'conflict');
    clock.advance(STEP_MS);
    assertError(await client.send('POST', '/api/me/mfa/totp/confirm', { code: totpCode(begin.body.secret, clock()) }), 409, 'conflict');
  });

  it('confirm: a wrong code is 422 fields.code and changes nothing; nothing pending is 409', async () => {
    const { client } = await signUpClient(server);
    assertError(await client.send('POST', '/api/me/mfa/totp/confirm', { code: '123456' }), 409, 'conflict');
    const { secret } = (await client.send<{ secret: string }>('POST', '/api/me/mfa/totp', {})).body;
    const right = totpCode(secret, clock());
    const wrong = wrongCode(secret, clock());
    for (const code of [wrong, 'abcdef', '', '1234567', totpCode(secret, clock() + 2 * STEP_MS)]) {
      assertFields(await client.send('POST', '/api/me/mfa/totp/confirm', { code }), ['code']);
    }
    assertFields(await client.send('POST', '/api/me/mfa/totp/confirm', {}), ['code']);
    assert.equal((await status(client)).totp, false);
    assert.equal((await client.send('POST', '/api/me/mfa/totp/confirm', { code: right })).status, 200);
  });

  it("the confirming code's step cannot sign in; the next step can", async () => {
    const { client, user } = await signUpClient(server);
    const now = clock();
    const { secret } = await enableTotp(client, now);
    const step = await passwordStep(server, user.username);
    for (const code of [totpCode(secret, now), totpCode(secret, now - STEP_MS)]) {
      assertError(await server.client().post('/api/token/mfa', { mfa_token: step.mfa_token, code }), 401, 'invalid_credentials');
    }
    const ok = await server.client().post('/api/token/mfa', { mfa_token: step.mfa_token, code: totpCode(secret, now + STEP_MS) });
    assert.equal(ok.status, 200, ok.text);
  });

  it('enrolment is *recent*: 403 reauthentication_required later, current_password accepted (a wrong one 422)', async () => {
    const { client } = await signUpClient(server);
    clock.advance(PAST_REAUTH);
    assertError(await client.send('POST', '/api/me/mfa/totp', {}), 403, 'reauthentication_required');
    assertFields(await client.send('POST', '/api/me/mfa/totp', { current_password: 'not the password' }), ['current_password']);
    const res = await client.send<{ secret: string }>('POST', '/api/me/mfa/totp', { current_password: GOOD_PASSWORD });
    assert.equal(res.status, 201, res.text);
    // Confirming needs no recent sign-in: the pending secret was created by one.
    assert.equal((await client.send('POST', '/api/me/mfa/totp/confirm', { code: totpCode(res.body.secret, clock()) })).status, 200);
  });

  it('the routes need a sign-in (401) and, with a cookie, the CSRF token (403); a bearer token needs none', async () => {
    const { client, user } = await signUpClient(server);
    const anonymous = server.client();
    for (const [method, path] of [['POST', '/api/me/mfa/totp'], ['POST', '/api/me/mfa/totp/confirm'], ['DELETE', '/api/me/mfa/totp'], ['POST', '/api/me/mfa/recovery-codes']] as const) {
      assertError(await anonymous.request(method, path, { json: {} }), 401, 'unauthenticated');
      assertError(await client.request(method, path, { json: {} }), 403, 'csrf_failed');
    }
    const tokens = await tokensFor(user.username);
    const begin = await server.client().request<{ secret: string }>('POST', '/api/me/mfa/totp', { json: {}, ...bearer(tokens.access_token) });
    assert.equal(begin.status, 201, begin.text);
    const confirm = await server.client().request('POST', '/api/me/mfa/totp/confirm', { json: { code: totpCode(begin.body.secret, clock()) }, ...bearer(tokens.access_token) });
    assert.equal(confirm.status, 200, confirm.text);
  });

  it('turning TOTP on and off ends no other session or token login', async () => {
    const { client, user } = await signUpClient(server);
    const other = server.client();
    assert.equal((await other.post('/login', { username: user.username, password: GOOD_PASSWORD })).status, 200);
    const tokens = await tokensFor(user.username);
    await enableTotp(client, clock());
    const stillThere = async (what: string) => {
      assert.equal((await client.get('/api/me')).status, 200, `${what}: this session`);
      assert.equal((await other.get('/api/me')).status, 200, `${what}: another browser`);
      assert.equal((await server.client().get('/api/me', bearer(tokens.access_token))).status, 200, `${what}: a token login`);
    };
    await stillThere('on');
    const fresh = await server.client().post<Tokens>('/api/token/refresh', { refresh_token: tokens.refresh_token });
    assert.equal(fresh.status, 200);
    assert.equal((await client.send('POST', '/api/me/mfa/recovery-codes', {})).status, 200);
    assert.equal((await client.send('DELETE', '/api/me/mfa/totp')).status, 204);
    assert.equal((await client.get('/api/me')).status, 200);
    assert.equal((await other.get('/api/me')).status, 200);
    assert.equal((await server.client().post('/api/token/refresh', { refresh_token: fresh.body.refresh_token })).status, 200);
  });

  it('DELETE /api/me/mfa/totp: 204, TOTP and the codes go, the password alone signs in again; 409 when off; *recent*', async () => {
    const { client, user } = await signUpClient(server);
    assertError(await client.send('DELETE', '/api/me/mfa/totp'), 409, 'conflict');
    const { recoveryCodes } = await enableTotp(client, clock());
    clock.advance(PAST_REAUTH);
    assertError(await client.send('DELETE', '/api/me/mfa/totp'), 403, 'reauthentication_required');
    assertFields(await client.send('DELETE', '/api/me/mfa/totp', { current_password: 'not the password' }), ['current_password']);
    assert.equal((await status(client)).totp, true, 'a refused request changes nothing');
    const res = await client.send('DELETE', '/api/me/mfa/totp', { current_password: GOOD_PASSWORD });
    assert.equal(res.status, 204, res.text);
    assert.deepEqual(await status(client), { totp: false, recovery_codes_left: 0, passkeys: 0 });
    const login = await server.client().post<Record<string, unknown>>('/api/token', { username: user.username, password: GOOD_PASSWORD });
    assert.equal(login.status, 200);
    assert.ok(login.body.access_token, 'no second step any more');
    // current_password was a one-time re-authentication: still not recent, then off already.
    assertError(await client.send('DELETE', '/api/me/mfa/totp'), 403, 'reauthentication_required');
    assertError(await client.send('DELETE', '/api/me/mfa/totp', { current_password: GOOD_PASSWORD }), 409, 'conflict');
    const rows = await server.services.db.selectFrom('recovery_codes').select('id').where('user_id', '=', user.id).execute();
    assert.equal(rows.length, 0, 'the recovery codes are gone');
    assertFields(await client.send('POST', '/api/me/reauthenticate', { recovery_code: recoveryCodes[0] }), ['recovery_code']);
  });

  it('POST /api/me/mfa/recovery-codes: a new set, the old one void; 409 without TOTP; *recent*', async () => {
    const { client, user } = await signUpClient(server);
    assertError(await client.send('POST', '/api/me/mfa/recovery-codes', {}), 409, 'conflict');
    const { recoveryCodes: old } = await enableTotp(client, clock());
    clock.advance(PAST_REAUTH);
    assertError(await client.send('POST', '/api/me/mfa/recovery-codes', {}), 403, 'reauthentication_required');
    const res = await client.send<{ recovery_codes: string[] }>('POST', '/api/me/mfa/recovery-codes', { current_password: GOOD_PASSWORD });
    assert.equal(res.status, 200, res.text);
    assert.match(res.headers.get('cache-control') ?? '', /no-store/);
    const fresh = res.body.recovery_codes;
    assert.equal(fresh.length, 10);
    assert.equal(fresh.filter((code) => old.includes(code)).length, 0);
    assert.equal((await status(client)).recovery_codes_left, 10);
    const first = await passwordStep(server, user.username);
    assertError(await server.client().post('/api/token/mfa', { mfa_token: first.mfa_token, recovery_code: old[0] }), 401, 'invalid_credentials');
    const second = await passwordStep(server, user.username);
    assert.equal((await server.client().post('/api/token/mfa', { mfa_token: second.mfa_token, recovery_code: fresh[0] })).status, 200);
    assert.equal((await status(client)).recovery_codes_left, 9);
    assert.equal((await events(user.id, 'recovery_codes_regenerated')).length, 1);
  });

  it('re-authentication with {code}: 200, the code spent; wrong or spent → 422 fields.code', async () => {
    const { client } = await signUpClient(server);
    const { secret } = await enableTotp(client, clock());
    clock.advance(PAST_REAUTH);
    assertError(await client.send('POST', '/api/me/mfa/recovery-codes', {}), 403, 'reauthentication_required');
    const code = totpCode(secret, clock());
    const wrong = wrongCode(secret, clock());
    assertFields(await client.send('POST', '/api/me/reauthenticate', { code: wrong }), ['code']);
    const res = await client.send<{ reauthenticated_until: string }>('POST', '/api/me/reauthenticate', { code });
    assert.equal(res.status, 200, res.text);
    assert.equal(Date.parse(res.body.reauthenticated_until), clock() + 600_000);
    assert.equal((await client.send('POST', '/api/me/mfa/recovery-codes', {})).status, 200, 'recent now');
    assertFields(await client.send('POST', '/api/me/reauthenticate', { code }), ['code']);
  });

  it('re-authentication with {recovery_code}: 200 and spent (ignoring case, spaces, dashes); wrong → 422 fields.recovery_code', async () => {
    const { client, user } = await signUpClient(server);
    const { recoveryCodes } = await enableTotp(client, clock());
    clock.advance(PAST_REAUTH);
    const code = recoveryCodes[3] ?? '';
    assertFields(await client.send('POST', '/api/me/reauthenticate', { recovery_code: 'AAAA-BBBB-CCCC-DDDD' }), ['recovery_code']);
    const res = await client.send('POST', '/api/me/reauthenticate', { recovery_code: ` ${code.toLowerCase().replace(/-/g, ' ')} ` });
    assert.equal(res.status, 200, res.text);
    assertFields(await client.send('POST', '/api/me/reauthenticate', { recovery_code: code }), ['recovery_code']);
    assert.equal((await status(client)).recovery_codes_left, 9);
    const used = await events(user.id, 'recovery_code_used');
    assert.equal(used.length, 1);
    assert.deepEqual(JSON.parse(used[0]?.detail ?? '{}'), { codes_left: 9 });
  });

  it('a code or recovery code for a user without TOTP is 422 on its field', async () => {
    const { client } = await signUpClient(server);
    assertFields(await client.send('POST', '/api/me/reauthenticate', { code: '123456' }), ['code']);
    assertFields(await client.send('POST', '/api/me/reauthenticate', { recovery_code: 'AAAA-BBBB-CCCC-DDDD' }), ['recovery_code']);
  });

  it('wrong codes count against the re-authentication limit (429 past LOGIN_FAILURES_PER_ACCOUNT), not against the login', async () => {
    const { client, user } = await signUpClient(server);
    const { secret } = await enableTotp(client, clock());
    clock.advance(STEP_MS);
    const right = totpCode(secret, clock());
    const wrong = wrongCode(secret, clock());
    const statuses: number[] = [];
    statuses.push((await client.send('POST', '/api/me/reauthenticate', { code: wrong })).status);
    statuses.push((await client.send('POST', '/api/me/reauthenticate', { recovery_code: 'AAAA-BBBB-CCCC-DDDD' })).status);
    statuses.push((await client.send('POST', '/api/me/reauthenticate', { password: 'not the password' })).status);
    const limited = await client.send('POST', '/api/me/reauthenticate', { code: right });
    statuses.push(limited.status);
    assert.deepEqual(statuses, [422, 422, 422, 429]);
    assertError(limited, 429, 'rate_limited');
    assert.match(limited.headers.get('retry-after') ?? '', /^[1-9]\d*$/);
    // Refused while limited: the right code is not spent, and the owner's login is not locked.
    const step = await passwordStep(server, user.username);
    const done = await server.client().post('/api/token/mfa', { mfa_token: step.mfa_token, code: right });
    assert.equal(done.status, 200, done.text);
  });

  it('DELETE /api/admin/users/:id/mfa: admins only, 404 unknown; removes TOTP, codes and passkeys and ends every sign-in', async () => {
    const adminName = uniqueName('admin');
    await server.services.accounts.signUp({ username: adminName, password: GOOD_PASSWORD }, NO_META, 'admin');
    const admin = server.client();
    assert.equal((await admin.post('/login', { username: adminName, password: GOOD_PASSWORD })).status, 200);

    const { client, user } = await signUpClient(server);
    const { secret } = await enableTotp(client, clock());
    await server.services.db
      .insertInto('passkeys')
      .values({ id: randomUUID(), credential_id: randomUUID(), user_id: user.id, public_key: 'AAAA', counter: 0, transports: null, backup_eligible: true, backed_up: true, name: 'Test key', created_at: new Date(clock()).toISOString(), last_used_at: null })
      .execute();
    assert.deepEqual(await status(client), { totp: true, recovery_codes_left: 10, passkeys: 1 });
    clock.advance(STEP_MS);
    const step = await passwordStep(server, user.username);
    const tokens = (await server.client().post<Tokens>('/api/token/mfa', { mfa_token: step.mfa_token, code: totpCode(secret, clock()) })).body;
    assert.equal((await server.client().get('/api/me', bearer(tokens.access_token))).status, 200, 'the access token is verified and cached');

    assertError(await client.send('DELETE', `/api/admin/users/${user.id}/mfa`), 403, 'forbidden');
    assertError(await admin.send('DELETE', '/api/admin/users/999999999/mfa'), 404, 'not_found');
    assertError(await admin.send('DELETE', '/api/admin/users/abc/mfa'), 404, 'not_found');
    assertError(await server.client().request('DELETE', `/api/admin/users/${user.id}/mfa`), 401, 'unauthenticated');
    assert.equal((await client.get('/api/me')).status, 200, 'refused resets change nothing');

    const res = await admin.send('DELETE', `/api/admin/users/${user.id}/mfa`);
    assert.equal(res.status, 204, res.text);
    assert.equal((await client.get('/api/me')).status, 401, 'the browser session ended');
    assert.equal((await server.client().post('/api/token/refresh', { refresh_token: tokens.refresh_token })).status, 401, 'the token login ended');
    clock.advance(1000);
    assertError(await server.client().get('/api/me', bearer(tokens.access_token)), 401, 'invalid_token');
    assert.equal((await admin.get('/api/me')).status, 200, "the admin's own session is untouched");

    const again = server.client();
    const login = await again.post<{ username: string }>('/login', { username: user.username, password: GOOD_PASSWORD });
    assert.equal(login.status, 200);
    assert.equal(login.body.username, user.username, 'the password alone signs in');
    assert.deepEqual(await status(again), { totp: false, recovery_codes_left: 0, passkeys: 0 });
    const reset = await events(user.id, 'mfa_reset');
    assert.equal(reset.length, 1);
    assert.equal(typeof reset[0]?.actor_id, 'number');
  });

  it('stores the secret encrypted (KEY_ENCRYPTION_SECRET), the recovery codes and second-step tokens only as hashes', async () => {
    const { client, user } = await signUpClient(server);
    const { secret, recoveryCodes } = await enableTotp(client, clock());
    const step = await passwordStep(server, user.username);
    const db = server.services.db;
    const stored = await db.selectFrom('totp_credentials').select('secret_encrypted').where('user_id', '=', user.id).executeTakeFirstOrThrow();
    const secretForms = [secret, secret.toLowerCase(), secret.replace(/=+$/, ''), base32Decode(secret).toString('hex'), base32Decode(secret).toString('base64'), base32Decode(secret).toString('base64url')];
    for (const form of secretForms) assert.ok(!stored.secret_encrypted.includes(form), 'the secret is not readable from its row');
    const hashes = (await db.selectFrom('recovery_codes').select('code_hash').where('user_id', '=', user.id).execute()).map((r) => r.code_hash);
    assert.equal(hashes.length, 10);
    for (const hash of hashes) assert.match(hash, /^[0-9a-f]{64}$/);
    const plain = recoveryCodes.flatMap((code) => [code, code.replace(/-/g, ''), code.toLowerCase()]);
    for (const hash of hashes) assert.ok(!plain.some((code) => hash.includes(code)), 'no code in plain text');
    const challenges = (await db.selectFrom('mfa_challenges').select('token_hash').where('user_id', '=', user.id).execute()).map((r) => r.token_hash);
    assert.equal(challenges.length, 1);
    assert.notEqual(challenges[0], step.mfa_token);
    assert.ok(!challenges[0]?.includes(step.mfa_token));
  });

  it('a password change or a password reset leaves two-step verification on: the next login still asks for a code', async () => {
    const { client, user, email } = await userWithEmail();
    await enableTotp(client, clock());
    const changed = 'a changed passphrase 123';
    assert.equal((await client.send('POST', '/api/me/password', { current_password: GOOD_PASSWORD, password: changed })).status, 200);
    const afterChange = await server.client().post<{ mfa_required?: boolean }>('/api/token', { username: user.username, password: changed });
    assert.equal(afterChange.body.mfa_required, true, afterChange.text);

    assert.equal((await server.client().post('/password/forgot', { email })).status, 202);
    const mail = await newestMailTo(smtp, email, 4, 'Reset your password');
    const reset = await server.client().post('/password/reset', { token: linkToken(mail, PUBLIC_URL, '/password/reset'), password: GOOD_PASSWORD });
    assert.equal(reset.status, 204, reset.text);
    const afterReset = await server.client().post<{ mfa_required?: boolean; access_token?: string }>('/api/token', { username: user.username, password: GOOD_PASSWORD });
    assert.equal(afterReset.status, 200);
    assert.equal(afterReset.body.mfa_required, true, 'a reset signs no one in and skips no factor');
    assert.equal(afterReset.body.access_token, undefined);
  });

  it('notices by mail: TOTP on, new recovery codes, a recovery code used (with how many are left), TOTP off; audit rows', async () => {
    const { client, user, email } = await userWithEmail();
    await enableTotp(client, clock());
    const added = await newestMailTo(smtp, email, 2, ADDED);
    assert.match(added.parsed.text ?? '', /authenticator app/i);
    assert.deepEqual(await events(user.id, 'mfa_enrolled').then((rows) => rows.map((r) => JSON.parse(r.detail ?? '{}') as unknown)), [{ factor: 'totp' }]);

    const codes = (await client.send<{ recovery_codes: string[] }>('POST', '/api/me/mfa/recovery-codes', {})).body.recovery_codes;
    const regenerated = await newestMailTo(smtp, email, 3, ADDED);
    assert.match(regenerated.parsed.text ?? '', /recovery codes/i);

    const step = await passwordStep(server, user.username);
    assert.equal((await server.client().post('/api/token/mfa', { mfa_token: step.mfa_token, recovery_code: codes[0] })).status, 200);
    const used = await newestMailTo(smtp, email, 4, CODE_USED);
    assert.match(used.parsed.text ?? '', /9 codes are left/);
    assert.ok(!(used.parsed.text ?? '').includes(codes[0] ?? '-'), 'the code itself is not in the mail');
    const usedRows = await events(user.id, 'recovery_code_used');
    assert.deepEqual(JSON.parse(usedRows.at(-1)?.detail ?? '{}'), { codes_left: 9 });

    assert.equal((await client.send('DELETE', '/api/me/mfa/totp')).status, 204);
    await newestMailTo(smtp, email, 5, REMOVED);
    assert.equal((await events(user.id, 'mfa_removed')).length, 1);
    // Two mails may be on their way at once: compare without the order.
    assert.deepEqual(mailsTo(smtp, email).map((m) => m.parsed.subject).sort(), ['Confirm your email address', ADDED, ADDED, CODE_USED, REMOVED].sort());
  });
});
