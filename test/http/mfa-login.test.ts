/**
 * The login's second step over real HTTP (contract v1.2, "MFA: TOTP and recovery codes"): the
 * password step's `mfa_required` answer at /login and /api/token, POST /login/mfa and
 * /api/token/mfa, the form flow through /login/mfa, the per-token and per-account limits, each
 * time step working once (sequentially, concurrently and across two instances), the ±1 step
 * window, recovery codes, `amr` in access tokens. Codes come from test/helpers/mfa.ts on the
 * server's fake clock.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { buildApp } from '../../src/server/app.js';
import { createServices } from '../../src/composition.js';
import { createLoggers } from '../../src/server/logging.js';
import { fakeClock, GOOD_PASSWORD, signUpClient, startTestServer } from '../helpers/app.js';
import type { FakeClock, TestServer } from '../helpers/app.js';
import { assertError, assertFields } from '../helpers/assert-error.js';
import { TestClient } from '../helpers/http.js';
import type { TestResponse } from '../helpers/http.js';
import { enableTotp, jwtClaims, passwordStep, STEP_MS, totpCode, wrongCode } from '../helpers/mfa.js';
import type { EnrolledTotp } from '../helpers/mfa.js';

const MFA_TOKEN_TTL = 120;
/** Above the 5 wrong codes an mfa_token takes, so the two limits can be told apart. */
const MFA_FAILURES = 8;
const HTML = { accept: 'text/html' };

interface Tokens {
  access_token: string;
  refresh_token: string;
  token_type: string;
  expires_in: number;
}

describe("the login's second step", () => {
  let server: TestServer;
  let clock: FakeClock;
  before(async () => {
    clock = fakeClock();
    server = await startTestServer({ MFA_TOKEN_TTL: String(MFA_TOKEN_TTL), MFA_FAILURES_PER_ACCOUNT: String(MFA_FAILURES), RATE_LIMIT_PER_IP: '100000' }, { clock });
  });
  after(async () => server?.close());

  /** A signed-up user with TOTP on, the clock moved past the confirming step. */
  async function mfaUser(): Promise<EnrolledTotp & { username: string; id: number; client: TestClient }> {
    const { client, user } = await signUpClient(server);
    const enrolled = await enableTotp(client, clock());
    clock.advance(STEP_MS);
    return { ...enrolled, username: user.username, id: user.id, client };
  }

  function tokenStep(mfaToken: string, proof: { code?: string; recovery_code?: string }): Promise<TestResponse<Tokens>> {
    return server.client().post<Tokens>('/api/token/mfa', { mfa_token: mfaToken, ...proof });
  }

  async function mfaFailedRows(userId: number): Promise<number> {
    return (await server.services.db.selectFrom('audit_events').select('id').where('user_id', '=', userId).where('event', '=', 'mfa_failed').execute()).length;
  }

  it('a right password at /api/token: 200 {mfa_required, mfa_token, methods, expires_in}, no tokens', async () => {
    const { username } = await mfaUser();
    const res = await server.client().post<Record<string, unknown>>('/api/token', { username, password: GOOD_PASSWORD });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(Object.keys(res.body).sort(), ['expires_in', 'methods', 'mfa_required', 'mfa_token']);
    assert.equal(res.body.mfa_required, true);
    assert.deepEqual(res.body.methods, ['totp', 'recovery_code']);
    assert.equal(res.body.expires_in, MFA_TOKEN_TTL);
    assert.match(String(res.body.mfa_token), /^[A-Za-z0-9_-]{22,}$/);
    assert.equal(res.setCookies.length, 0);
    assert.match(res.headers.get('cache-control') ?? '', /no-store/);
    assertError(await server.client().post('/api/token', { username, password: 'not the password' }), 401, 'invalid_credentials');
  });

  it('a right password at /login (JSON): the same answer and no session cookie', async () => {
    const { username } = await mfaUser();
    const client = server.client();
    const res = await client.post<Record<string, unknown>>('/login', { username, password: GOOD_PASSWORD });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(Object.keys(res.body).sort(), ['expires_in', 'methods', 'mfa_required', 'mfa_token']);
    assert.equal(res.body.mfa_required, true);
    assert.deepEqual(res.setCookies.map((c) => c.name).filter((name) => name !== 'csrf_token'), [], 'no cookie but the visitor csrf_token');
    assert.equal((await client.get('/api/me')).status, 401);
    assert.equal((await client.get('/check_session')).status, 204);
  });

  it('POST /login/mfa (JSON): 200 the user and the session cookies; the mfa_token is then spent', async () => {
    const { username, secret } = await mfaUser();
    const client = server.client();
    const step = await passwordStep(server, username, '/login', client);
    const res = await client.post<{ username: string }>('/login/mfa', { mfa_token: step.mfa_token, code: totpCode(secret, clock()) });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.username, username);
    const session = res.setCookies.find((c) => c.name === 'gatehouse_session');
    assert.ok(session, 'a session cookie');
    assert.equal(session.attributes['max-age'], undefined, 'remember was not asked: a browser-session cookie');
    assert.ok(res.setCookies.some((c) => c.name === 'csrf_token'));
    assert.equal((await client.get('/api/me')).status, 200);
    clock.advance(STEP_MS);
    assertError(await client.post('/login/mfa', { mfa_token: step.mfa_token, code: totpCode(secret, clock()) }), 401, 'invalid_credentials');
  });

  it('remember chosen at the password step gives the persistent cookie', async () => {
    const { username, secret } = await mfaUser();
    const client = server.client();
    const step = (await client.post<{ mfa_token: string }>('/login', { username, password: GOOD_PASSWORD, remember: true })).body;
    const res = await client.post('/login/mfa', { mfa_token: step.mfa_token, code: totpCode(secret, clock()) });
    assert.equal(res.status, 200, res.text);
    assert.ok(Number(res.setCookies.find((c) => c.name === 'gatehouse_session')?.attributes['max-age']) > 0);
  });

  it('neither code → 422 at both routes; an unknown mfa_token → 401', async () => {
    const { username, secret, recoveryCodes } = await mfaUser();
    const step = await passwordStep(server, username);
    for (const path of ['/login/mfa', '/api/token/mfa']) {
      for (const body of [{ mfa_token: step.mfa_token }, { mfa_token: step.mfa_token, code: '', recovery_code: '  ' }]) {
        assertError(await server.client().post(path, body), 422, 'validation_failed');
      }
      assertError(await server.client().post(path, { mfa_token: 'no-such-token-anywhere', code: totpCode(secret, clock()) }), 401, 'invalid_credentials');
    }
    assertFields(await server.client().post('/api/token/mfa', { code: totpCode(secret, clock()) }), ['mfa_token']);
    assert.equal((await tokenStep(step.mfa_token, { code: totpCode(secret, clock()) })).status, 200, 'none of that spent the token or the code');
    // A blank field beside the other code is no code at all: the recovery code is the one checked.
    const again = await passwordStep(server, username);
    assert.equal((await tokenStep(again.mfa_token, { code: '', recovery_code: recoveryCodes[0] ?? '' })).status, 200);
  });

  it('POST /api/token/mfa: 200 a token pair; a wrong code 401', async () => {
    const { username, secret } = await mfaUser();
    const step = await passwordStep(server, username);
    const wrong = assertError(await tokenStep(step.mfa_token, { code: wrongCode(secret, clock()) }), 401, 'invalid_credentials');
    assert.doesNotMatch(wrong.error.message, /password/i, 'the password was right: the message is about the code');
    const res = await tokenStep(step.mfa_token, { code: totpCode(secret, clock()) });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(Object.keys(res.body).sort(), ['access_token', 'expires_in', 'refresh_token', 'token_type']);
    assert.equal(res.setCookies.length, 0);
    assert.match(res.headers.get('cache-control') ?? '', /no-store/);
    assert.equal((await server.client().get('/api/me', { headers: { authorization: `Bearer ${res.body.access_token}` } })).status, 200);
  });

  it('an mfa_token expires after MFA_TOKEN_TTL; a refused request spends neither the code nor a recovery code', async () => {
    const { username, secret, recoveryCodes } = await mfaUser();
    const expiring = await passwordStep(server, username);
    const spare = await passwordStep(server, username);
    clock.advance(MFA_TOKEN_TTL * 1000 - 1000);
    const fresh = await passwordStep(server, username);
    clock.advance(2000);
    const code = totpCode(secret, clock());
    assertError(await tokenStep(expiring.mfa_token, { code }), 401, 'invalid_credentials');
    assertError(await tokenStep(spare.mfa_token, { recovery_code: recoveryCodes[0] ?? '' }), 401, 'invalid_credentials');
    assertError(await tokenStep('a-dead-token', { recovery_code: recoveryCodes[0] ?? '' }), 401, 'invalid_credentials');
    assert.equal((await tokenStep(fresh.mfa_token, { recovery_code: recoveryCodes[0] ?? '' })).status, 200, 'the recovery code still works');
    const next = await passwordStep(server, username);
    assert.equal((await tokenStep(next.mfa_token, { code })).status, 200, 'the code still works');
  });

  it('an mfa_token dies after 5 wrong codes, even for the right one then', async () => {
    const { username, secret } = await mfaUser();
    const step = await passwordStep(server, username);
    for (let i = 0; i < 5; i += 1) assertError(await tokenStep(step.mfa_token, { code: wrongCode(secret, clock()) }), 401, 'invalid_credentials');
    assertError(await tokenStep(step.mfa_token, { code: totpCode(secret, clock()) }), 401, 'invalid_credentials');
    const other = await passwordStep(server, username);
    assert.equal((await tokenStep(other.mfa_token, { code: totpCode(secret, clock()) })).status, 200);
  });

  it('MFA_FAILURES_PER_ACCOUNT wrong codes → 429 with Retry-After at this step whatever the token; the password step is not locked', async () => {
    const { username, id, secret } = await mfaUser();
    const first = await passwordStep(server, username);
    for (let i = 0; i < 5; i += 1) assertError(await tokenStep(first.mfa_token, { code: wrongCode(secret, clock()) }), 401, 'invalid_credentials');
    const second = await passwordStep(server, username, '/login');
    for (let i = 5; i < MFA_FAILURES; i += 1) assertError(await server.client().post('/login/mfa', { mfa_token: second.mfa_token, code: wrongCode(secret, clock()) }), 401, 'invalid_credentials');
    assert.equal(await mfaFailedRows(id), MFA_FAILURES);

    // Locked: a fresh token with the right code, at either route.
    const fresh = await passwordStep(server, username);
    const locked = await tokenStep(fresh.mfa_token, { code: totpCode(secret, clock()) });
    assertError(locked, 429, 'rate_limited');
    const retryAfter = Number(locked.headers.get('retry-after'));
    assert.ok(Number.isInteger(retryAfter) && retryAfter > 0, `Retry-After: ${locked.headers.get('retry-after')}`);
    assertError(await server.client().post('/login/mfa', { mfa_token: fresh.mfa_token, recovery_code: 'AAAA-BBBB-CCCC-DDDD' }), 429, 'rate_limited');
    // The password step still answers (at both routes), and another user is not affected.
    await passwordStep(server, username, '/login');
    await passwordStep(server, username, '/api/token');
    const bystander = await mfaUser();
    const theirs = await passwordStep(server, bystander.username);
    assert.equal((await tokenStep(theirs.mfa_token, { code: totpCode(bystander.secret, clock()) })).status, 200);

    // Attempts while locked are not counted: no audit row, and the lock does not grow.
    clock.advance(10_000);
    const later = await tokenStep(fresh.mfa_token, { code: wrongCode(secret, clock()) });
    assertError(later, 429, 'rate_limited');
    assert.ok(Number(later.headers.get('retry-after')) <= retryAfter - 10 + 1, `${later.headers.get('retry-after')} after ${retryAfter}`);
    assert.equal(await mfaFailedRows(id), MFA_FAILURES);

    // Once the lock is over, the right code on the token that waited is accepted.
    clock.advance(Number(later.headers.get('retry-after')) * 1000);
    const done = await tokenStep((await passwordStep(server, username)).mfa_token, { code: totpCode(secret, clock()) });
    assert.equal(done.status, 200, done.text);
  });

  it('each time step works once: the same code again is 401', async () => {
    const { username, secret } = await mfaUser();
    const code = totpCode(secret, clock());
    const a = await passwordStep(server, username);
    const b = await passwordStep(server, username, '/login');
    assert.equal((await tokenStep(a.mfa_token, { code })).status, 200);
    assertError(await server.client().post('/login/mfa', { mfa_token: b.mfa_token, code }), 401, 'invalid_credentials');
  });

  it('concurrent second steps with the same right code on different tokens: exactly one 200', async () => {
    const { username, secret } = await mfaUser();
    const n = 5;
    const steps = await Promise.all(Array.from({ length: n }, () => passwordStep(server, username, '/login')));
    const code = totpCode(secret, clock());
    const answers = await Promise.all(steps.map((step) => server.client().post('/login/mfa', { mfa_token: step.mfa_token, code })));
    const statuses = answers.map((r) => r.status).sort();
    assert.deepEqual(statuses, [200, 401, 401, 401, 401], answers.map((r) => r.text).join('\n'));
    const codes = await Promise.all(Array.from({ length: 3 }, () => passwordStep(server, username)));
    assert.equal((await tokenStep(codes[0]?.mfa_token ?? '', { code })).status, 401, 'spent afterwards too');
  });

  it('steps T−1, T and T+1 are accepted in turn, T±2 never; a step at or before the last accepted is refused', async () => {
    const { username, secret } = await mfaUser();
    clock.advance(STEP_MS); // the confirming step is now T−2: out of the window
    const now = clock();
    const at = (k: number) => totpCode(secret, now + k * STEP_MS);
    const attempt = async (k: number) => (await tokenStep((await passwordStep(server, username)).mfa_token, { code: at(k) })).status;
    assert.equal(await attempt(-2), 401, 'T−2');
    assert.equal(await attempt(2), 401, 'T+2');
    assert.equal(await attempt(-1), 200, 'T−1');
    assert.equal(await attempt(-1), 401, 'T−1 again');
    assert.equal(await attempt(0), 200, 'T');
    assert.equal(await attempt(-1), 401, 'T−1 after T');
    assert.equal(await attempt(1), 200, 'T+1');
    assert.equal(await attempt(0), 401, 'T after T+1');
    clock.advance(STEP_MS);
    // Now T+1 is the current step and T+2 in the window; T (now T−1) and T+1 are used up.
    assert.equal(await attempt(0), 401);
    assert.equal(await attempt(1), 401);
    assert.equal(await attempt(2), 200);
  });

  it('the last accepted step survives turning TOTP off and on again', async () => {
    const { username, secret, client } = await mfaUser();
    const now = clock();
    assert.equal((await tokenStep((await passwordStep(server, username)).mfa_token, { code: totpCode(secret, now + STEP_MS) })).status, 200, 'T+1 accepted');
    assert.equal((await client.send('DELETE', '/api/me/mfa/totp')).status, 204);
    const again = await client.send<{ secret: string }>('POST', '/api/me/mfa/totp', {});
    assert.equal(again.status, 201);
    const fresh = again.body.secret;
    // The new secret's codes for T and T+1 are in the window but not after the last accepted step.
    assertFields(await client.send('POST', '/api/me/mfa/totp/confirm', { code: totpCode(fresh, now) }), ['code']);
    assertFields(await client.send('POST', '/api/me/mfa/totp/confirm', { code: totpCode(fresh, now + STEP_MS) }), ['code']);
    clock.advance(STEP_MS);
    assert.equal((await client.send('POST', '/api/me/mfa/totp/confirm', { code: totpCode(fresh, now + 2 * STEP_MS) })).status, 200, 'T+2 confirms');
    assert.equal((await tokenStep((await passwordStep(server, username)).mfa_token, { code: totpCode(fresh, now + STEP_MS) })).status, 401);
    clock.advance(2 * STEP_MS);
    assert.equal((await tokenStep((await passwordStep(server, username)).mfa_token, { code: totpCode(fresh, clock()) })).status, 200, 'T+3');
  });

  it('recovery codes: single use, compared ignoring case, spaces and dashes; methods drops recovery_code when none are left', async () => {
    const { username, recoveryCodes, client } = await mfaUser();
    const [first = '', ...rest] = recoveryCodes;
    const messy = ` ${first.toLowerCase().replace(/-/g, ' ')} `;
    assert.equal((await tokenStep((await passwordStep(server, username)).mfa_token, { recovery_code: messy })).status, 200);
    assertError(await tokenStep((await passwordStep(server, username)).mfa_token, { recovery_code: first }), 401, 'invalid_credentials');
    assert.equal((await tokenStep((await passwordStep(server, username)).mfa_token, { recovery_code: (rest[0] ?? '').replace(/-/g, '') })).status, 200);
    for (const code of rest.slice(1)) {
      const step = await passwordStep(server, username, '/login');
      assert.deepEqual(step.methods, ['totp', 'recovery_code']);
      assert.equal((await server.client().post('/login/mfa', { mfa_token: step.mfa_token, recovery_code: code })).status, 200);
    }
    assert.equal((await client.get<{ recovery_codes_left: number }>('/api/me/mfa')).body.recovery_codes_left, 0);
    const last = await passwordStep(server, username);
    assert.deepEqual(last.methods, ['totp']);
    const rows = await server.services.db.selectFrom('audit_events').select('detail').where('event', '=', 'recovery_code_used').where('user_id', '=', (await client.get<{ id: number }>('/api/me')).body.id).orderBy('id').execute();
    assert.deepEqual(
      rows.map((r) => JSON.parse(r.detail ?? '{}') as unknown),
      Array.from({ length: 10 }, (_, i) => ({ codes_left: 9 - i })),
    );
  });

  it('amr: ["pwd"] without MFA, ["pwd","otp","mfa"] with a code, ["pwd","mfa"] with a recovery code; kept across refresh', async () => {
    const { user } = await signUpClient(server);
    const plain = await server.client().post<Tokens>('/api/token', { username: user.username, password: GOOD_PASSWORD });
    assert.deepEqual(jwtClaims(plain.body.access_token).amr, ['pwd']);

    const { username, secret, recoveryCodes } = await mfaUser();
    const withCode = await tokenStep((await passwordStep(server, username)).mfa_token, { code: totpCode(secret, clock()) });
    assert.deepEqual(jwtClaims(withCode.body.access_token).amr, ['pwd', 'otp', 'mfa']);
    const withRecovery = await tokenStep((await passwordStep(server, username)).mfa_token, { recovery_code: recoveryCodes[0] ?? '' });
    assert.deepEqual(jwtClaims(withRecovery.body.access_token).amr, ['pwd', 'mfa']);

    for (const [pair, amr] of [[withCode.body, ['pwd', 'otp', 'mfa']], [withRecovery.body, ['pwd', 'mfa']], [plain.body, ['pwd']]] as const) {
      const refreshed = await server.client().post<Tokens>('/api/token/refresh', { refresh_token: pair.refresh_token });
      assert.equal(refreshed.status, 200, refreshed.text);
      assert.deepEqual(jwtClaims(refreshed.body.access_token).amr, amr);
    }
  });

  it('a user disabled between the two steps is refused', async () => {
    const { username, secret, id } = await mfaUser();
    const step = await passwordStep(server, username);
    await server.services.accounts.updateAccount(id, { disabled: true }, { id: null });
    assertError(await tokenStep(step.mfa_token, { code: totpCode(secret, clock()) }), 401, 'invalid_credentials');
  });

  it('the form flow: /login → 303 /login/mfa (token in an HttpOnly cookie) → a wrong code 401 → 303 to next', async () => {
    const { username, secret } = await mfaUser();
    const browser = server.client();
    assert.equal((await browser.get('/login', { headers: HTML })).status, 200);
    const login = await browser.request('POST', '/login?next=%2Faccount', { form: { csrf_token: browser.csrf ?? '', next: '/account', username, password: GOOD_PASSWORD }, headers: { origin: server.url } });
    assert.equal(login.status, 303, login.text);
    assert.equal(login.headers.get('location'), '/login/mfa?next=%2Faccount');
    assert.ok(!login.setCookies.some((c) => c.name === 'gatehouse_session'), 'no session yet');
    const mfaCookie = login.setCookies.find((c) => c.name === 'gatehouse_mfa');
    assert.ok(mfaCookie, 'the mfa_token rides in a cookie');
    assert.equal(mfaCookie.attributes.httponly, true);
    assert.equal(mfaCookie.attributes.path, '/login/mfa');
    assert.equal(mfaCookie.attributes['max-age'], String(MFA_TOKEN_TTL));
    assert.ok(!String(login.headers.get('location')).includes(mfaCookie.value), 'never in a URL');

    const page = await browser.get<string>('/login/mfa?next=%2Faccount', { headers: HTML });
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
    for (const name of ['code', 'recovery_code', 'csrf_token']) assert.match(page.body, new RegExp(`name="${name}"`), name);
    assert.ok(page.body.includes('<input type="hidden" name="next" value="/account">'));
    const csrf = /name="csrf_token" value="([^"]+)"/.exec(page.body)?.[1] ?? '';

    const wrong = await browser.request<string>('POST', '/login/mfa?next=%2Faccount', { form: { csrf_token: csrf, next: '/account', code: wrongCode(secret, clock()), recovery_code: '' }, headers: { origin: server.url } });
    assert.equal(wrong.status, 401);
    assert.match(wrong.headers.get('content-type') ?? '', /^text\/html/);
    assert.match(wrong.body, /<title>Error: /);
    assert.match(wrong.body, /name="code"/);
    const empty = await browser.request<string>('POST', '/login/mfa', { form: { csrf_token: csrf, code: '', recovery_code: '' }, headers: { origin: server.url } });
    assert.equal(empty.status, 422);
    assert.match(empty.body, /name="code"/);

    const ok = await browser.request('POST', '/login/mfa?next=%2Faccount', { form: { csrf_token: csrf, next: '/account', code: totpCode(secret, clock()), recovery_code: '' }, headers: { origin: server.url } });
    assert.equal(ok.status, 303, ok.text);
    assert.equal(ok.headers.get('location'), '/account');
    assert.ok(ok.setCookies.some((c) => c.name === 'gatehouse_session' && c.value !== ''));
    const cleared = ok.setCookies.find((c) => c.name === 'gatehouse_mfa');
    assert.ok(cleared && (cleared.value === '' || cleared.attributes['max-age'] === '0' || Date.parse(String(cleared.attributes.expires)) < Date.now()), 'the gatehouse_mfa cookie is cleared');
    assert.equal(browser.cookie('gatehouse_mfa'), undefined);
    assert.equal((await browser.get('/api/me')).status, 200);
  });

  it('the form flow with a recovery code goes to / without a next; /login/mfa without its cookie → 303 /login', async () => {
    const { username, recoveryCodes } = await mfaUser();
    const stranger = await server.client().get('/login/mfa', { headers: HTML });
    assert.equal(stranger.status, 303);
    assert.equal(stranger.headers.get('location'), '/login');
    const browser = server.client();
    await browser.get('/login', { headers: HTML });
    const login = await browser.request('POST', '/login', { form: { csrf_token: browser.csrf ?? '', username, password: GOOD_PASSWORD } });
    assert.equal(login.status, 303);
    assert.equal(login.headers.get('location'), '/login/mfa');
    const ok = await browser.request('POST', '/login/mfa', { form: { csrf_token: browser.csrf ?? '', code: '', recovery_code: recoveryCodes[1] ?? '' } });
    assert.equal(ok.status, 303, ok.text);
    assert.equal(ok.headers.get('location'), '/');
    assert.equal((await browser.get('/api/me')).status, 200);
  });

  it('/login/mfa is under the Origin rule', async () => {
    const { username, secret } = await mfaUser();
    const step = await passwordStep(server, username);
    assertError(await server.client().post('/login/mfa', { mfa_token: step.mfa_token, code: totpCode(secret, clock()) }, { headers: { origin: 'https://evil.example' } }), 403, 'origin_refused');
    assert.equal((await tokenStep(step.mfa_token, { code: totpCode(secret, clock()) })).status, 200, 'a refused request spent nothing');
  });
});

describe('a time step works once across two instances', () => {
  it('a code accepted on one instance is refused on the other', async () => {
    const clock = fakeClock();
    const server = await startTestServer({ RATE_LIMIT_PER_IP: '100000' }, { clock });
    const services = createServices(server.config, { storage: server.storage, clock, log: createLoggers(server.config).log });
    const other = await buildApp(server.config, services);
    try {
      await other.listen({ port: 0, host: '127.0.0.1' });
      const address = other.server.address();
      const otherClient = new TestClient(`http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`);
      const { client, user } = await signUpClient(server);
      const { secret } = await enableTotp(client, clock());
      clock.advance(STEP_MS);
      const code = totpCode(secret, clock());
      const here = await passwordStep(server, user.username);
      const there = await passwordStep(server, user.username, '/api/token', otherClient);
      const answers = await Promise.all([
        server.client().post('/api/token/mfa', { mfa_token: here.mfa_token, code }),
        otherClient.post('/api/token/mfa', { mfa_token: there.mfa_token, code }),
      ]);
      assert.deepEqual(answers.map((r) => r.status).sort(), [200, 401]);
    } finally {
      await other.close();
      await services.close();
      await server.close();
    }
  });
});
