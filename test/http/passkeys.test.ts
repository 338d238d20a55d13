/**
 * Passkeys (WebAuthn) over real HTTP, with the software authenticator of helpers/webauthn.ts:
 * registration (options, verification, names, single-use and voided challenges, 409 duplicates,
 * the recent rule), management (list, rename, remove, another user's 404), the discoverable
 * sign-in (sessions with amr hwk+mfa, every failure 401, disabled users, REQUIRE_EMAIL_VERIFICATION,
 * signature counters), `{passkey}` re-authentication, mail notices, audit rows, the sweep, and two
 * instances on one database (a ceremony begun on one finishes on the other; a challenge is spent on both).
 * Runs on SQLite, or on PostgreSQL with TEST_DATABASE_URL=postgres://….
 */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { fakeClock, GOOD_PASSWORD, signUpClient, startTestServer, uniqueName } from '../helpers/app.js';
import type { FakeClock, TestServer } from '../helpers/app.js';
import { assertError, assertFields } from '../helpers/assert-error.js';
import { isPostgresUrl } from '../helpers/database.js';
import { TestClient } from '../helpers/http.js';
import type { TestResponse } from '../helpers/http.js';
import { mailsTo } from '../helpers/mail-links.js';
import { startSmtpServer, until } from '../helpers/smtp.js';
import type { TestSmtpServer } from '../helpers/smtp.js';
import { SoftAuthenticator } from '../helpers/webauthn.js';
import type { AuthenticationResponseJSON, CeremonyOptions, CreationOptionsJSON, RequestOptionsJSON } from '../helpers/webauthn.js';

const DIALECT = isPostgresUrl(process.env.TEST_DATABASE_URL) ? 'PostgreSQL' : 'SQLite';
/** Past REAUTH_MAX_AGE (600 s by default): the sign-in is no longer recent. */
const PAST_REAUTH = 601_000;
const CHALLENGE_TTL = 5 * 60_000;
const ADDED_SUBJECT = 'A sign-in method was added to your account';
const REMOVED_SUBJECT = 'A sign-in method was removed from your account';

interface PasskeyJson {
  id: string;
  name: string;
  created_at: string;
  last_used_at: string | null;
}
interface UserJson {
  id: number;
  username: string;
}
type Ceremony = Partial<CeremonyOptions>;

/** RFC 6238 (SHA-1, 6 digits, 30 s) from a base32 secret: enough to turn TOTP on for one test. */
function totp(secret: string, ms: number): string {
  let bits = '';
  for (const c of secret.replace(/=+$/, '').toUpperCase()) bits += 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'.indexOf(c).toString(2).padStart(5, '0');
  const key = Buffer.from((bits.match(/.{8}/g) ?? []).map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(ms / 30_000)));
  const mac = createHmac('sha1', key).update(counter).digest();
  const offset = (mac[mac.length - 1] ?? 0) & 0x0f;
  return String((mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000).padStart(6, '0');
}

describe(`passkeys (${DIALECT})`, () => {
  let smtp: TestSmtpServer;
  let server: TestServer;
  let clock: FakeClock;
  let origin: string;
  before(async () => {
    smtp = await startSmtpServer();
    clock = fakeClock();
    server = await startTestServer({ SMTP_URL: smtp.url, RATE_LIMIT_PER_IP: '100000', LOGIN_FAILURES_PER_ACCOUNT: '5' }, { clock });
    origin = new URL(server.config.publicUrl).origin;
  });
  after(async () => {
    await server?.close();
    await smtp?.close();
  });

  const honest = (ceremony: Ceremony = {}): CeremonyOptions => ({ origin, ...ceremony });

  async function newUser(email?: string): Promise<{ client: TestClient; user: UserJson }> {
    return signUpClient(server, uniqueName('pk'), GOOD_PASSWORD, email);
  }

  async function creationOptions(client: TestClient, body: object = {}): Promise<CreationOptionsJSON> {
    const res = await client.send<CreationOptionsJSON>('POST', '/api/me/passkeys/options', body);
    assert.equal(res.status, 200, res.text);
    return res.body;
  }

  function finish(client: TestClient, body: object): Promise<TestResponse<PasskeyJson>> {
    return client.send<PasskeyJson>('POST', '/api/me/passkeys', body);
  }

  async function enrol(client: TestClient, auth = new SoftAuthenticator(), name?: string): Promise<{ auth: SoftAuthenticator; passkey: PasskeyJson }> {
    const response = auth.register(await creationOptions(client), honest());
    const res = await finish(client, { response, ...(name !== undefined ? { name } : {}) });
    assert.equal(res.status, 201, res.text);
    return { auth, passkey: res.body };
  }

  async function requestOptions(client: TestClient = server.client()): Promise<RequestOptionsJSON> {
    const res = await client.post<RequestOptionsJSON>('/login/passkey/options');
    assert.equal(res.status, 200, res.text);
    return res.body;
  }

  async function assertion(auth: SoftAuthenticator, ceremony: Ceremony = {}): Promise<AuthenticationResponseJSON> {
    return auth.assert(await requestOptions(), honest(ceremony));
  }

  function signIn(response: unknown, client: TestClient = server.client(), remember?: boolean): Promise<TestResponse<UserJson>> {
    return client.post<UserJson>('/login/passkey', { response, ...(remember !== undefined ? { remember } : {}) });
  }

  async function auditOf(userId: number): Promise<Array<{ event: string; detail: Record<string, unknown> | null }>> {
    const rows = await server.services.db.selectFrom('audit_events').select(['event', 'detail']).where('user_id', '=', userId).orderBy('id').execute();
    return rows.map((row) => ({ event: row.event, detail: row.detail ? (JSON.parse(row.detail) as Record<string, unknown>) : null }));
  }

  async function list(client: TestClient): Promise<PasskeyJson[]> {
    const res = await client.get<{ items: PasskeyJson[] }>('/api/me/passkeys');
    assert.equal(res.status, 200, res.text);
    return res.body.items;
  }

  describe('registration', () => {
    it('hands out creation options: discoverable, user verification required, RP id and user from the server', async () => {
      const { client, user } = await newUser();
      const res = await client.send<CreationOptionsJSON & Record<string, unknown>>('POST', '/api/me/passkeys/options', {});
      assert.equal(res.status, 200, res.text);
      assert.match(res.headers.get('cache-control') ?? '', /no-store/);
      const options = res.body;
      assert.match(options.challenge, /^[A-Za-z0-9_-]{43,}$/, 'a base64url challenge of at least 256 bits');
      assert.equal(options.rp.id, server.config.webauthnRpId);
      assert.equal(options.user.name, user.username);
      assert.match(options.user.id, /^[A-Za-z0-9_-]+$/);
      assert.ok(!Buffer.from(options.user.id, 'base64url').toString('latin1').includes(user.username), 'the user handle holds no username');
      assert.deepEqual(options.excludeCredentials, []);
      assert.equal(options.authenticatorSelection?.residentKey, 'required');
      assert.equal(options.authenticatorSelection?.userVerification, 'required');
      assert.ok(!('publicKey' in options), 'the bare options object, not wrapped');
      const stored = await server.services.db.selectFrom('webauthn_challenges').select(['purpose', 'user_id']).where('challenge', '=', options.challenge).executeTakeFirst();
      assert.deepEqual(stored && { purpose: stored.purpose, user_id: Number(stored.user_id) }, { purpose: 'register', user_id: user.id });
    });

    it('adds a passkey: 201 {id, name, created_at, last_used_at: null}, a default name, listed, counted, audited, and excluded next time', async () => {
      const { client, user } = await newUser();
      const { auth, passkey } = await enrol(client);
      assert.deepEqual(Object.keys(passkey).sort(), ['created_at', 'id', 'last_used_at', 'name']);
      assert.match(passkey.id, /^[0-9a-f-]{36}$/);
      assert.equal(passkey.name, 'Passkey 1');
      assert.equal(passkey.last_used_at, null);
      assert.equal(passkey.created_at, new Date(clock()).toISOString());
      assert.deepEqual(await list(client), [passkey]);
      assert.equal((await client.get<{ passkeys: number }>('/api/me/mfa')).body.passkeys, 1);
      assert.deepEqual((await creationOptions(client)).excludeCredentials?.map((c) => c.id), [auth.id]);
      const added = (await auditOf(user.id)).find((row) => row.event === 'passkey_added');
      assert.deepEqual(added?.detail, { passkey_id: passkey.id, backup_eligible: false });
      clock.advance(1000);
      const second = await enrol(client, new SoftAuthenticator(), '   ');
      assert.equal(second.passkey.name, 'Passkey 2', 'a blank name gets the default');
      assert.deepEqual((await list(client)).map((p) => p.id), [passkey.id, second.passkey.id], 'oldest first');
    });

    it('names: trimmed, at most 100 characters; a bad name spends nothing, so the same response can be sent again', async () => {
      const { client } = await newUser();
      const auth = new SoftAuthenticator();
      const response = auth.register(await creationOptions(client), honest());
      assertFields(await finish(client, { response, name: 'x'.repeat(101) }), ['name']);
      assertFields(await finish(client, { response, name: 'bad\nname' }), ['name']);
      const res = await finish(client, { response, name: `  ${'é'.repeat(100)}  ` });
      assert.equal(res.status, 201, res.text);
      assert.equal(res.body.name, 'é'.repeat(100));
    });

    it('a challenge serves one attempt: a failed one spends it, and a spent one is refused (422 fields.response)', async () => {
      const { client } = await newUser();
      const auth = new SoftAuthenticator();
      const options = await creationOptions(client);
      assertFields(await finish(client, { response: auth.register(options, honest({ origin: 'https://evil.example' })) }), ['response']);
      assertFields(await finish(client, { response: auth.register(options, honest()) }), ['response']);
      assert.deepEqual(await list(client), []);
      const good = auth.register(await creationOptions(client), honest());
      assert.equal((await finish(client, { response: good })).status, 201);
      assertFields(await finish(client, { response: good }), ['response']);
    });

    it('a new options call voids the earlier challenge; a challenge lives five minutes', async () => {
      const { client } = await newUser();
      const auth = new SoftAuthenticator();
      const first = await creationOptions(client);
      const second = await creationOptions(client);
      assertFields(await finish(client, { response: auth.register(first, honest()) }), ['response']);
      assert.equal((await finish(client, { response: auth.register(second, honest()) })).status, 201);

      const late = await creationOptions(client);
      clock.advance(CHALLENGE_TTL + 1000);
      await client.send('POST', '/api/me/reauthenticate', { password: GOOD_PASSWORD });
      assertFields(await finish(client, { response: new SoftAuthenticator().register(late, honest()) }), ['response']);
    });

    it("a registration challenge is the user's own: another user cannot finish it", async () => {
      const alice = await newUser();
      const bob = await newUser();
      const options = await creationOptions(alice.client);
      assertFields(await finish(bob.client, { response: new SoftAuthenticator().register(options, honest()) }), ['response']);
      assert.equal((await finish(alice.client, { response: new SoftAuthenticator().register(options, honest()) })).status, 201, 'the attempt by another user spent nothing of hers');
    });

    for (const [what, ceremony] of [
      ['another origin', { origin: 'https://evil.example' }],
      ['another RP id', { rpId: 'evil.example' }],
      ['no user verification (UV flag)', { userVerified: false }],
      ['no user presence (UP flag)', { userPresent: false }],
      ['a sign-in type (webauthn.get)', { type: 'webauthn.get' }],
      ['a challenge the server never issued', { challenge: Buffer.alloc(32, 7).toString('base64url') }],
    ] as const) {
      it(`refuses a response with ${what}: 422 fields.response, nothing stored`, async () => {
        const { client } = await newUser();
        const res = await finish(client, { response: new SoftAuthenticator().register(await creationOptions(client), honest(ceremony)) });
        assertFields(res, ['response']);
        assert.deepEqual(await list(client), []);
      });
    }

    it('refuses what is no credential at all (422 fields.response), and a missing response (422)', async () => {
      const { client } = await newUser();
      await creationOptions(client);
      assertFields(await finish(client, { response: {} }), ['response']);
      assertFields(await finish(client, { response: { id: 'x', rawId: 'x', type: 'public-key', response: { clientDataJSON: '!!', attestationObject: 'AA' } } }), ['response']);
      assertFields(await finish(client, {}), ['response']);
      assertFields(await finish(client, { response: 'a string' }), ['response']);
    });

    it('takes a credential id of up to 1023 bytes, and refuses a longer one (422)', async () => {
      const { client } = await newUser();
      const longest = new SoftAuthenticator({ credentialIdBytes: 1023 });
      assert.equal((await finish(client, { response: longest.register(await creationOptions(client), honest()) })).status, 201);
      assert.equal((await signIn(await assertion(longest))).status, 200);
      const tooLong = new SoftAuthenticator({ credentialIdBytes: 1024 });
      assertFields(await finish(client, { response: tooLong.register(await creationOptions(client), honest()) }), ['response']);
    });

    it('keeps only the transports WebAuthn knows, and hands them back in excludeCredentials', async () => {
      const { client } = await newUser();
      const auth = new SoftAuthenticator();
      const response = auth.register(await creationOptions(client), honest());
      response.response.transports = ['internal', 'hybrid', 'internal', ...Array.from({ length: 13 }, (_, i) => `made-up-${i}`.padEnd(32, 'x'))];
      assert.equal((await finish(client, { response })).status, 201);
      const options = await creationOptions(client);
      assert.deepEqual(options.excludeCredentials, [{ id: auth.id, type: 'public-key', transports: ['internal', 'hybrid'] }]);
    });

    it('a credential registered already, to this user or another: 409 conflict', async () => {
      const alice = await newUser();
      const { auth } = await enrol(alice.client);
      assertError(await finish(alice.client, { response: auth.register(await creationOptions(alice.client), honest()) }), 409, 'conflict');
      const bob = await newUser();
      assertError(await finish(bob.client, { response: auth.register(await creationOptions(bob.client), honest()) }), 409, 'conflict');
      assert.deepEqual(await list(bob.client), []);
    });

    it('options are *recent*: 403 reauthentication_required, or current_password in the body (wrong: 422)', async () => {
      const { client } = await newUser();
      clock.advance(PAST_REAUTH);
      assertError(await client.send('POST', '/api/me/passkeys/options', {}), 403, 'reauthentication_required');
      assertError(await client.send('POST', '/api/me/passkeys/options'), 403, 'reauthentication_required');
      assertFields(await client.send('POST', '/api/me/passkeys/options', { current_password: 'not it at all' }), ['current_password']);
      const options = await creationOptions(client, { current_password: GOOD_PASSWORD });
      assert.equal((await finish(client, { response: new SoftAuthenticator().register(options, honest()) })).status, 201, 'finishing needs no recent sign-in of its own');
    });

    it('answers 401 without a session, and 403 csrf_failed without the CSRF header', async () => {
      assertError(await server.client().post('/api/me/passkeys/options', {}), 401, 'unauthenticated');
      assertError(await server.client().get('/api/me/passkeys'), 401, 'unauthenticated');
      const { client } = await newUser();
      assertError(await client.post('/api/me/passkeys/options', {}), 403, 'csrf_failed');
    });

    it('mails a notice naming the passkey to the account address when one is added and removed', async () => {
      const email = `${uniqueName('pkmail')}@example.com`.toLowerCase();
      const { client } = await newUser(email);
      const { passkey } = await enrol(client, new SoftAuthenticator(), 'Work laptop');
      await until(() => mailsTo(smtp, email).some((m) => m.parsed.subject === ADDED_SUBJECT), 'the "added" notice');
      const added = mailsTo(smtp, email).find((m) => m.parsed.subject === ADDED_SUBJECT);
      assert.match(added?.parsed.text ?? '', /A passkey named “Work laptop” was added/);
      assert.equal((await client.send('DELETE', `/api/me/passkeys/${passkey.id}`)).status, 204);
      await until(() => mailsTo(smtp, email).some((m) => m.parsed.subject === REMOVED_SUBJECT), 'the "removed" notice');
      assert.match(mailsTo(smtp, email).find((m) => m.parsed.subject === REMOVED_SUBJECT)?.parsed.text ?? '', /A passkey named “Work laptop” was removed/);
    });
  });

  describe('management', () => {
    it('renames: 200 the passkey, trimmed; 422 for a bad name before 404; audited', async () => {
      const { client, user } = await newUser();
      const { passkey } = await enrol(client);
      const res = await client.send<PasskeyJson>('PATCH', `/api/me/passkeys/${passkey.id}`, { name: '  Phone  ' });
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(res.body, { ...passkey, name: 'Phone' });
      assertFields(await client.send('PATCH', `/api/me/passkeys/${passkey.id}`, { name: ' ' }), ['name']);
      assertFields(await client.send('PATCH', `/api/me/passkeys/${passkey.id}`, { name: 'x'.repeat(101) }), ['name']);
      assertFields(await client.send('PATCH', '/api/me/passkeys/00000000-0000-4000-8000-000000000000', { name: '' }), ['name']);
      assertFields(await client.send('PATCH', `/api/me/passkeys/${passkey.id}`, {}), ['name']);
      assert.equal((await list(client))[0]?.name, 'Phone');
      assert.ok((await auditOf(user.id)).some((row) => row.event === 'passkey_renamed' && row.detail?.passkey_id === passkey.id));
    });

    it("another user's passkey, an unknown id and a malformed one are 404 to rename and to remove", async () => {
      const alice = await newUser();
      const { passkey } = await enrol(alice.client);
      const bob = await newUser();
      for (const id of [passkey.id, '00000000-0000-4000-8000-000000000000', 'not-a-uuid', '1']) {
        assertError(await bob.client.send('PATCH', `/api/me/passkeys/${id}`, { name: 'Mine now' }), 404, 'not_found');
        assertError(await bob.client.send('DELETE', `/api/me/passkeys/${id}`), 404, 'not_found');
      }
      assert.deepEqual(await list(alice.client), [passkey], 'untouched');
    });

    it('removes: 204, gone from the list and from sign-in, audited; again 404', async () => {
      const { client, user } = await newUser();
      const { auth, passkey } = await enrol(client);
      assert.equal((await client.send('DELETE', `/api/me/passkeys/${passkey.id}`)).status, 204);
      assert.deepEqual(await list(client), []);
      assertError(await client.send('DELETE', `/api/me/passkeys/${passkey.id}`), 404, 'not_found');
      assertError(await signIn(await assertion(auth)), 401, 'invalid_credentials');
      assert.ok((await auditOf(user.id)).some((row) => row.event === 'passkey_removed' && row.detail?.passkey_id === passkey.id));
    });

    it('removing is *recent*: 403, then 204 with current_password (recent check before 404)', async () => {
      const { client } = await newUser();
      const { passkey } = await enrol(client);
      clock.advance(PAST_REAUTH);
      assertError(await client.send('DELETE', `/api/me/passkeys/${passkey.id}`), 403, 'reauthentication_required');
      assertError(await client.send('DELETE', '/api/me/passkeys/00000000-0000-4000-8000-000000000000'), 403, 'reauthentication_required');
      assertFields(await client.send('DELETE', `/api/me/passkeys/${passkey.id}`, { current_password: 'wrong password!' }), ['current_password']);
      assert.equal((await client.send('DELETE', `/api/me/passkeys/${passkey.id}`, { current_password: GOOD_PASSWORD })).status, 204);
      const renamed = await client.send('PATCH', '/api/me/passkeys/00000000-0000-4000-8000-000000000000', { name: 'x' });
      assertError(renamed, 404, 'not_found');
    });
  });

  describe('sign-in', () => {
    it('hands out request options for a discoverable credential: no allowCredentials, user verification required', async () => {
      const res = await server.client().post<RequestOptionsJSON & Record<string, unknown>>('/login/passkey/options');
      assert.equal(res.status, 200, res.text);
      assert.match(res.headers.get('cache-control') ?? '', /no-store/);
      assert.ok(res.body.allowCredentials === undefined || res.body.allowCredentials.length === 0);
      assert.equal(res.body.userVerification, 'required');
      assert.equal(res.body.rpId, server.config.webauthnRpId);
      assert.match(res.body.challenge, /^[A-Za-z0-9_-]{43,}$/);
      assert.ok(!('publicKey' in res.body));
    });

    it('signs in: 200 user + session cookies, amr hwk mfa, counter and last_used_at updated, audited', async () => {
      const { client: owner, user } = await newUser();
      const { auth, passkey } = await enrol(owner);
      clock.advance(60_000);
      const browser = server.client();
      const res = await signIn(await assertion(auth), browser);
      assert.equal(res.status, 200, res.text);
      assert.equal(res.body.id, user.id);
      assert.equal(res.body.username, user.username);
      const session = res.setCookies.find((c) => c.name === 'gatehouse_session');
      assert.ok(session, 'a session cookie');
      assert.equal(session.attributes['max-age'], undefined, 'without remember: a browser-session cookie');
      assert.ok(browser.csrf, 'and a CSRF token');
      assert.equal((await browser.get<UserJson>('/api/me')).body.id, user.id);
      const row = await server.services.db.selectFrom('sessions').select('amr').where('user_id', '=', user.id).orderBy('created_at', 'desc').executeTakeFirst();
      assert.equal(row?.amr, 'hwk mfa');
      const stored = await server.services.db.selectFrom('passkeys').select(['counter', 'last_used_at']).where('id', '=', passkey.id).executeTakeFirstOrThrow();
      assert.equal(Number(stored.counter), auth.counter);
      const [listed] = await list(owner);
      assert.equal(listed?.last_used_at, new Date(clock()).toISOString());
      const events = await auditOf(user.id);
      assert.ok(events.some((e) => e.event === 'passkey_used' && e.detail?.passkey_id === passkey.id && e.detail?.for === 'sign-in'));
      assert.ok(events.some((e) => e.event === 'login_succeeded' && e.detail?.amr === 'hwk mfa'));

      const remembered = await signIn(await assertion(auth), server.client(), true);
      assert.equal(remembered.status, 200);
      assert.ok(remembered.setCookies.find((c) => c.name === 'gatehouse_session')?.attributes['max-age'], 'remember: a persistent cookie');
    });

    it('replaces the session cookie it came with (no fixation)', async () => {
      const { client } = await newUser();
      const { auth } = await enrol(client);
      const planted = client.cookie('gatehouse_session');
      const res = await signIn(await assertion(auth), client);
      assert.equal(res.status, 200);
      assert.notEqual(client.cookie('gatehouse_session'), planted);
      const old = server.client();
      old.cookies.set('gatehouse_session', planted ?? '');
      assertError(await old.get('/api/me'), 401, 'unauthenticated');
    });

    it('satisfies MFA: a user with TOTP gets a session from the passkey alone', async () => {
      const { client, user } = await newUser();
      const { auth } = await enrol(client);
      const begun = await client.send<{ secret: string }>('POST', '/api/me/mfa/totp', {});
      assert.equal(begun.status, 201, begun.text);
      assert.equal((await client.send('POST', '/api/me/mfa/totp/confirm', { code: totp(begun.body.secret, clock()) })).status, 200);
      const password = await server.client().post<{ mfa_required?: boolean }>('/login', { username: user.username, password: GOOD_PASSWORD });
      assert.equal(password.body.mfa_required, true, 'the password alone asks for the second step');
      const res = await signIn(await assertion(auth));
      assert.equal(res.status, 200, res.text);
      assert.equal(res.body.id, user.id);
    });

    it('a challenge serves one sign-in: a replayed assertion is 401', async () => {
      const { client } = await newUser();
      const { auth } = await enrol(client);
      const response = await assertion(auth);
      assert.equal((await signIn(response)).status, 200);
      assertError(await signIn(response), 401, 'invalid_credentials');
    });

    it('a failed attempt spends the challenge too', async () => {
      const { client } = await newUser();
      const { auth } = await enrol(client);
      const options = await requestOptions();
      assertError(await signIn(auth.assert(options, honest({ userVerified: false }))), 401, 'invalid_credentials');
      assertError(await signIn(auth.assert(options, honest())), 401, 'invalid_credentials');
    });

    it('a challenge lives five minutes', async () => {
      const { client } = await newUser();
      const { auth } = await enrol(client);
      const options = await requestOptions();
      clock.advance(CHALLENGE_TTL + 1000);
      assertError(await signIn(auth.assert(options, honest())), 401, 'invalid_credentials');
    });

    it("a registration challenge is no sign-in challenge, and a sign-in one does not register", async () => {
      const { client } = await newUser();
      const { auth } = await enrol(client);
      const creation = await creationOptions(client);
      assertError(await signIn(auth.assert({ challenge: creation.challenge }, honest())), 401, 'invalid_credentials');
      const request = await requestOptions();
      assertFields(await finish(client, { response: new SoftAuthenticator().register({ ...creation, challenge: request.challenge }, honest()) }), ['response']);
    });

    for (const [what, ceremony] of [
      ['another origin', { origin: 'https://evil.example' }],
      ['another RP id', { rpId: 'evil.example' }],
      ['no user verification (UV flag)', { userVerified: false }],
      ['no user presence (UP flag)', { userPresent: false }],
      ['a registration type (webauthn.create)', { type: 'webauthn.create' }],
      ['a challenge the server never issued', { challenge: Buffer.alloc(32, 9).toString('base64url') }],
    ] as const) {
      it(`refuses an assertion with ${what}: 401 invalid_credentials, no session`, async () => {
        const { client } = await newUser();
        const { auth } = await enrol(client);
        const res = await signIn(await assertion(auth, ceremony));
        assertError(res, 401, 'invalid_credentials');
        assert.equal(res.setCookies.find((c) => c.name === 'gatehouse_session'), undefined);
      });
    }

    it('refuses a tampered assertion, an unknown credential and what is no assertion: 401 (a missing response: 422)', async () => {
      const { client, user } = await newUser();
      const { auth } = await enrol(client);
      const tampered = await assertion(auth);
      const signature = Buffer.from(tampered.response.signature, 'base64url');
      signature[signature.length - 1] = (signature[signature.length - 1] ?? 0) ^ 0x01;
      assertError(await signIn({ ...tampered, response: { ...tampered.response, signature: signature.toString('base64url') } }), 401, 'invalid_credentials');
      const altered = await assertion(auth);
      const data = Buffer.from(altered.response.authenticatorData, 'base64url');
      data[33] = (data[33] ?? 0) ^ 0x01;
      assertError(await signIn({ ...altered, response: { ...altered.response, authenticatorData: data.toString('base64url') } }), 401, 'invalid_credentials');
      assertError(await signIn(await assertion(new SoftAuthenticator())), 401, 'invalid_credentials');
      assertError(await signIn({}), 401, 'invalid_credentials');
      assertError(await signIn({ id: 'x', rawId: 'y', type: 'public-key', response: { clientDataJSON: 'e30', authenticatorData: 'AA', signature: 'AA' } }), 401, 'invalid_credentials');
      assertFields(await server.client().post('/login/passkey', {}), ['response']);
      const failures = (await auditOf(user.id)).filter((e) => e.event === 'login_failed').map((e) => e.detail?.reason);
      assert.ok(failures.includes('passkey_verification'), failures.join());
    });

    it('a disabled user is refused (401), and signs in again once enabled', async () => {
      const { client, user } = await newUser();
      const { auth } = await enrol(client);
      await server.services.accounts.updateAccount(user.id, { disabled: true }, { id: null });
      assertError(await signIn(await assertion(auth)), 401, 'invalid_credentials');
      await server.services.accounts.updateAccount(user.id, { disabled: false }, { id: null });
      assert.equal((await signIn(await assertion(auth))).status, 200);
    });

    it('is under the Origin rule: another site\'s Origin or Sec-Fetch-Site cross-site is 403 origin_refused', async () => {
      const { client } = await newUser();
      const { auth } = await enrol(client);
      assertError(await server.client().post('/login/passkey/options', undefined, { headers: { origin: 'https://evil.example' } }), 403, 'origin_refused');
      const response = await assertion(auth);
      assertError(await server.client().post('/login/passkey', { response }, { headers: { 'sec-fetch-site': 'cross-site' } }), 403, 'origin_refused');
      assert.equal((await server.client().post('/login/passkey', { response }, { headers: { origin } })).status, 200, 'our own origin passes');
    });
  });

  describe('signature counters', () => {
    it('a counter that does not grow refuses a credential that is not backup-eligible, and is audited', async () => {
      const { client, user } = await newUser();
      const { auth, passkey } = await enrol(client);
      assert.equal((await signIn(await assertion(auth))).status, 200);
      const stored = auth.counter;
      assertError(await signIn(await assertion(auth, { counter: stored })), 401, 'invalid_credentials');
      assertError(await signIn(await assertion(auth, { counter: 0 })), 401, 'invalid_credentials');
      const regressions = (await auditOf(user.id)).filter((e) => e.event === 'passkey_counter_regressed').map((e) => e.detail);
      assert.deepEqual(regressions, [
        { passkey_id: passkey.id, stored, received: stored, backup_eligible: false, refused: true },
        { passkey_id: passkey.id, stored, received: 0, backup_eligible: false, refused: true },
      ]);
      assert.equal((await signIn(await assertion(auth, { counter: stored + 5 }))).status, 200, 'a counter that grows is fine again');
      const row = await server.services.db.selectFrom('passkeys').select('counter').where('id', '=', passkey.id).executeTakeFirstOrThrow();
      assert.equal(Number(row.counter), stored + 5);
    });

    it('a backup-eligible (synced) credential is recorded and audited, never refused for it', async () => {
      const { client, user } = await newUser();
      const { auth, passkey } = await enrol(client, new SoftAuthenticator({ backupEligible: true }));
      assert.equal((await signIn(await assertion(auth, { counter: 10 }))).status, 200);
      const res = await signIn(await assertion(auth, { counter: 3 }));
      assert.equal(res.status, 200, res.text);
      const regressions = (await auditOf(user.id)).filter((e) => e.event === 'passkey_counter_regressed').map((e) => e.detail);
      assert.deepEqual(regressions, [{ passkey_id: passkey.id, stored: 10, received: 3, backup_eligible: true, refused: false }]);
      const row = await server.services.db.selectFrom('passkeys').select('counter').where('id', '=', passkey.id).executeTakeFirstOrThrow();
      assert.equal(Number(row.counter), 10, 'the highest counter seen stays');
    });

    it('a synced passkey that keeps a zero counter signs in again and again, with no regression recorded', async () => {
      const { client, user } = await newUser();
      const { auth } = await enrol(client, new SoftAuthenticator({ backupEligible: true, zeroCounter: true }));
      for (let i = 0; i < 3; i += 1) assert.equal((await signIn(await assertion(auth))).status, 200);
      assert.equal((await auditOf(user.id)).filter((e) => e.event === 'passkey_counter_regressed').length, 0);
    });

    it('two assertions with the same counter at once: one signs in (one conditional update), the other is refused', async () => {
      const { client } = await newUser();
      const { auth } = await enrol(client);
      const [a, b] = await Promise.all([requestOptions(), requestOptions()]);
      const first = auth.assert(a, honest({ counter: 7 }));
      const second = auth.assert(b, honest({ counter: 7 }));
      const statuses = (await Promise.all([signIn(first), signIn(second)])).map((r) => r.status).sort();
      assert.deepEqual(statuses, [200, 401]);
    });
  });

  describe('re-authentication with {passkey}', () => {
    it('makes this sign-in recent: 200 reauthenticated_until, then a *recent* route works', async () => {
      const { client, user } = await newUser();
      const { auth } = await enrol(client);
      clock.advance(PAST_REAUTH);
      assertError(await client.send('POST', '/api/me/passkeys/options', {}), 403, 'reauthentication_required');
      const res = await client.send<{ reauthenticated_until: string }>('POST', '/api/me/reauthenticate', { passkey: await assertion(auth) });
      assert.equal(res.status, 200, res.text);
      assert.equal(Date.parse(res.body.reauthenticated_until), clock() + 600_000);
      assert.equal((await client.send('POST', '/api/me/passkeys/options', {})).status, 200);
      const events = await auditOf(user.id);
      assert.ok(events.some((e) => e.event === 'passkey_used' && e.detail?.for === 'reauthentication'));
      assert.ok(events.some((e) => e.event === 'reauthenticated'));
    });

    it("another user's passkey, a replay, no user verification, another origin: 422 fields.passkey", async () => {
      const alice = await newUser();
      const bob = await newUser();
      const { auth: bobs } = await enrol(bob.client);
      const { auth: alices } = await enrol(alice.client);
      assertFields(await alice.client.send('POST', '/api/me/reauthenticate', { passkey: await assertion(bobs) }), ['passkey']);
      const once = await assertion(alices);
      assert.equal((await alice.client.send('POST', '/api/me/reauthenticate', { passkey: once })).status, 200);
      assertFields(await alice.client.send('POST', '/api/me/reauthenticate', { passkey: once }), ['passkey']);
      assertFields(await alice.client.send('POST', '/api/me/reauthenticate', { passkey: await assertion(alices, { userVerified: false }) }), ['passkey']);
      assertFields(await alice.client.send('POST', '/api/me/reauthenticate', { passkey: await assertion(alices, { origin: 'https://evil.example' }) }), ['passkey']);
      assertFields(await alice.client.send('POST', '/api/me/reauthenticate', { passkey: {} }), ['passkey']);
      const failed = (await auditOf(alice.user.id)).filter((e) => e.event === 'reauthentication_failed').map((e) => e.detail?.with);
      assert.ok(failed.length >= 4 && failed.every((w) => w === 'passkey'), failed.join());
    });

    it('wrong passkeys count against the re-authentication limit like wrong passwords (429), and never lock the password login', async () => {
      const { client, user } = await newUser();
      const { auth } = await enrol(client);
      const stranger = new SoftAuthenticator();
      for (let i = 0; i < 5; i += 1) assertFields(await client.send('POST', '/api/me/reauthenticate', { passkey: await assertion(stranger) }), ['passkey']);
      const limited = await client.send('POST', '/api/me/reauthenticate', { passkey: await assertion(auth) });
      assertError(limited, 429, 'rate_limited');
      assert.ok(Number(limited.headers.get('retry-after')) > 0);
      assertError(await client.send('POST', '/api/me/reauthenticate', { password: GOOD_PASSWORD }), 429, 'rate_limited');
      assert.equal((await server.client().post('/login', { username: user.username, password: GOOD_PASSWORD })).status, 200, 'the password login is not locked');
      assert.equal((await signIn(await assertion(auth))).status, 200, 'nor the passkey sign-in');
    });

    it('works for a token login too (bearer), making that login recent', async () => {
      const { client, user } = await newUser();
      const { auth } = await enrol(client);
      const tokens = await server.client().post<{ access_token: string }>('/api/token', { username: user.username, password: GOOD_PASSWORD });
      const bearer = { headers: { authorization: `Bearer ${tokens.body.access_token}` } };
      clock.advance(PAST_REAUTH);
      const api = server.client();
      assertError(await api.post('/api/me/passkeys/options', {}, bearer), 403, 'reauthentication_required');
      assert.equal((await api.post('/api/me/reauthenticate', { passkey: await assertion(auth) }, bearer)).status, 200);
      assert.equal((await api.post('/api/me/passkeys/options', {}, bearer)).status, 200);
    });
  });

  describe('housekeeping', () => {
    it('the sweep deletes expired challenges, and only those', async () => {
      const { client } = await newUser();
      await creationOptions(client);
      const old = await requestOptions();
      clock.advance(CHALLENGE_TTL + 1000);
      const fresh = await requestOptions();
      assert.ok((await server.services.passkeys.deleteExpired()) >= 2);
      const left = await server.services.db.selectFrom('webauthn_challenges').select('challenge').execute();
      const challenges = left.map((row) => row.challenge);
      assert.ok(challenges.includes(fresh.challenge));
      assert.ok(!challenges.includes(old.challenge));
    });

    it('deleting the user deletes their passkeys and challenges', async () => {
      const { client, user } = await newUser();
      await enrol(client);
      await creationOptions(client);
      assert.equal((await client.send('DELETE', '/api/me')).status, 204);
      const passkeys = await server.services.db.selectFrom('passkeys').select('id').where('user_id', '=', user.id).execute();
      const challenges = await server.services.db.selectFrom('webauthn_challenges').select('challenge').where('user_id', '=', user.id).execute();
      assert.deepEqual([passkeys.length, challenges.length], [0, 0]);
    });
  });
});

describe(`passkeys on two instances of one database, one with REQUIRE_EMAIL_VERIFICATION (${DIALECT})`, () => {
  let open: TestServer;
  let strict: TestServer;
  before(async () => {
    open = await startTestServer({ RATE_LIMIT_PER_IP: '100000' });
    // A second instance on the same database, with verification required.
    strict = await startTestServer({ DATABASE_URL: open.config.databaseUrl, REQUIRE_EMAIL_VERIFICATION: 'on', RATE_LIMIT_PER_IP: '100000' });
  });
  after(async () => {
    await strict?.close();
    await open?.close();
  });

  it('one instance finishes the ceremony another began, and a challenge spent on one is spent on both', async () => {
    const origin = new URL(open.config.publicUrl).origin;
    const { client, user } = await signUpClient(open, uniqueName('pk2'), GOOD_PASSWORD);
    const auth = new SoftAuthenticator();
    const created = await client.send<CreationOptionsJSON>('POST', '/api/me/passkeys/options', {});
    // The same browser's cookies, sent to the other instance.
    const elsewhere = new TestClient(strict.url);
    for (const [name, value] of client.cookies) elsewhere.cookies.set(name, value);
    const registered = await elsewhere.send('POST', '/api/me/passkeys', { response: auth.register(created.body, { origin }) });
    assert.equal(registered.status, 201, registered.text);
    const options = (await strict.client().post<RequestOptionsJSON>('/login/passkey/options')).body;
    const response = auth.assert(options, { origin });
    const signedIn = await open.client().post<UserJson>('/login/passkey', { response });
    assert.equal(signedIn.status, 200, signedIn.text);
    assert.equal(signedIn.body.id, user.id);
    assertError(await strict.client().post('/login/passkey', { response }), 401, 'invalid_credentials');
  });

  it('refuses an unverified user with 403 email_not_verified, only after the passkey checked out', async () => {
    const origin = new URL(open.config.publicUrl).origin;
    const { client } = await signUpClient(open, uniqueName('pkv'), GOOD_PASSWORD, `${uniqueName('pkv')}@example.com`.toLowerCase());
    const auth = new SoftAuthenticator();
    const created = await client.send<CreationOptionsJSON>('POST', '/api/me/passkeys/options', {});
    assert.equal((await client.send('POST', '/api/me/passkeys', { response: auth.register(created.body, { origin }) })).status, 201);
    const options = (await strict.client().post<RequestOptionsJSON>('/login/passkey/options')).body;
    const refused = await strict.client().post('/login/passkey', { response: auth.assert(options, { origin }) });
    assertError(refused, 403, 'email_not_verified');
    assert.equal(refused.setCookies.find((c) => c.name === 'gatehouse_session'), undefined);
    const wrong = (await strict.client().post<RequestOptionsJSON>('/login/passkey/options')).body;
    assertError(await strict.client().post('/login/passkey', { response: auth.assert(wrong, { origin, userVerified: false }) }), 401, 'invalid_credentials');
    const options2 = (await open.client().post<RequestOptionsJSON>('/login/passkey/options')).body;
    assert.equal((await open.client().post('/login/passkey', { response: auth.assert(options2, { origin }) })).status, 200, 'the same passkey signs in where verification is not required');
  });
});
