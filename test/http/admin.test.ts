import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { GOOD_PASSWORD, signUpClient, startTestServer, uniqueName } from '../helpers/app.js';
import type { TestServer } from '../helpers/app.js';
import type { TestClient } from '../helpers/http.js';

interface AdminUser {
  id: number;
  username: string;
  email: string | null;
  role: 'user' | 'admin';
  created_at: string;
  disabled: boolean;
}
interface Page<T> {
  items: T[];
  total: number;
  page: number;
  limit: number;
}
interface ErrorBody {
  error: { code: string; message: string; fields?: Record<string, string> };
}

const NO_META = { ip: null, userAgent: null };

/** An admin made the way the CLI makes one, then logged in through the API. */
async function adminClient(server: TestServer, username = uniqueName('admin')): Promise<{ client: TestClient; id: number }> {
  const user = await server.services.accounts.signUp({ username, password: GOOD_PASSWORD }, NO_META, 'admin');
  const client = server.client();
  const res = await client.post('/login', { username, password: GOOD_PASSWORD });
  assert.equal(res.status, 200);
  return { client, id: user.id };
}

async function bearerFor(server: TestServer, username: string): Promise<{ access: string; refresh: string }> {
  const res = await server.client().post<{ access_token: string; refresh_token: string }>('/api/token', { username, password: GOOD_PASSWORD });
  assert.equal(res.status, 200, res.text);
  return { access: res.body.access_token, refresh: res.body.refresh_token };
}

describe('admin API', () => {
  let server: TestServer;
  let admin: TestClient;
  before(async () => {
    server = await startTestServer();
    admin = (await adminClient(server)).client;
  });
  after(async () => server.close());

  it('refuses normal users with 403 forbidden and strangers with 401', async () => {
    const { client, user } = await signUpClient(server);
    const calls: Array<[string, string, unknown]> = [
      ['GET', '/api/admin/users', undefined],
      ['PATCH', `/api/admin/users/${user.id}`, { role: 'admin' }],
      ['GET', '/api/admin/audit', undefined],
      ['POST', '/api/admin/users', { username: uniqueName('nope'), password: GOOD_PASSWORD }],
      ['GET', `/api/admin/users/${user.id}`, undefined],
      ['GET', '/api/admin/dashboard', undefined],
    ];
    for (const [method, path, body] of calls) {
      const res = await client.send<ErrorBody>(method, path, body);
      assert.equal(res.status, 403, `${method} ${path}`);
      assert.equal(res.body.error.code, 'forbidden');
      const anonymous = await server.client().request<ErrorBody>(method, path, body === undefined ? {} : { json: body });
      assert.equal(anonymous.status, 401, `${method} ${path}`);
    }
    const tokens = await bearerFor(server, user.username);
    const viaToken = await server.client().get<ErrorBody>('/api/admin/users', { headers: { authorization: `Bearer ${tokens.access}` } });
    assert.equal(viaToken.status, 403);
    assert.equal((await client.get<{ role: string }>('/api/me')).body.role, 'user', 'nothing changed');
  });

  it('lists, searches and paginates users with the admin view', async () => {
    const tag = uniqueName('srch').replace(/_/g, '');
    const made: Array<{ id: number; username: string }> = [];
    for (let i = 0; i < 3; i += 1) made.push((await signUpClient(server, `${tag}${i}`, GOOD_PASSWORD, `${tag}${i}@Example.org`)).user);

    const all = await admin.get<Page<AdminUser>>('/api/admin/users?limit=100');
    assert.equal(all.status, 200);
    assert.equal(all.body.limit, 100);
    assert.equal(all.body.page, 1);
    assert.ok(all.body.total >= 4);
    const first = all.body.items.find((u) => u.id === made[0]?.id);
    assert.ok(first);
    assert.deepEqual(Object.keys(first).sort(), ['created_at', 'disabled', 'email', 'email_verified', 'id', 'role', 'username']);
    assert.equal(first.disabled, false);
    assert.equal(first.email, `${tag}0@Example.org`);
    const ids = all.body.items.map((u) => u.id);
    assert.deepEqual(
      ids,
      [...ids].sort((a, b) => a - b),
      'oldest account first',
    );

    const search = await admin.get<Page<AdminUser>>(`/api/admin/users?q=${tag.toUpperCase()}`);
    assert.deepEqual(
      search.body.items.map((u) => u.username),
      [`${tag}0`, `${tag}1`, `${tag}2`],
    );
    assert.equal(search.body.total, 3);
    const byEmail = await admin.get<Page<AdminUser>>(`/api/admin/users?q=${tag}1@example`);
    assert.deepEqual(
      byEmail.body.items.map((u) => u.username),
      [`${tag}1`],
    );
    const paged = await admin.get<Page<AdminUser>>(`/api/admin/users?q=${tag}&limit=2&page=2`);
    assert.deepEqual(
      { total: paged.body.total, page: paged.body.page, limit: paged.body.limit, names: paged.body.items.map((u) => u.username) },
      { total: 3, page: 2, limit: 2, names: [`${tag}2`] },
    );
    const past = await admin.get<Page<AdminUser>>(`/api/admin/users?q=${tag}&page=9`);
    assert.equal(past.status, 200);
    assert.deepEqual(past.body.items, []);
    assert.equal((await admin.get<Page<AdminUser>>('/api/admin/users?q=%25')).body.total, 0, '% is literal');
    for (const query of ['limit=0', 'limit=101', 'limit=-1', 'limit=abc', 'page=0', 'page=abc']) {
      const res = await admin.get<ErrorBody>(`/api/admin/users?${query}`);
      assert.equal(res.status, 422, query);
      assert.equal(res.body.error.code, 'validation_failed');
    }
  });

  it('promotes and demotes; the change applies on the next request of every session and token', async () => {
    const { client, user } = await signUpClient(server);
    const tokens = await bearerFor(server, user.username);
    const bearer = { headers: { authorization: `Bearer ${tokens.access}` } };
    assert.equal((await client.get('/api/admin/users')).status, 403);
    assert.equal((await server.client().get('/api/admin/users', bearer)).status, 403);

    const promoted = await admin.send<AdminUser>('PATCH', `/api/admin/users/${user.id}`, { role: 'admin' });
    assert.equal(promoted.status, 200);
    assert.equal(promoted.body.role, 'admin');
    assert.equal(promoted.body.disabled, false);
    assert.equal((await client.get<{ role: string }>('/api/me')).body.role, 'admin');
    assert.equal((await client.get('/api/admin/users')).status, 200, 'the same cookie, now an admin');
    assert.equal((await server.client().get('/api/admin/users', bearer)).status, 200, 'the same token, now an admin');

    const demoted = await admin.send<AdminUser>('PATCH', `/api/admin/users/${user.id}`, { role: 'user' });
    assert.equal(demoted.status, 200);
    assert.equal(demoted.body.role, 'user');
    assert.equal((await client.get('/api/admin/users')).status, 403);
    assert.equal((await server.client().get('/api/admin/users', bearer)).status, 403);
    assert.equal((await client.get<{ role: string }>('/api/me')).body.role, 'user');
  });

  it("disabling ends the user's cookie sessions and tokens at once; re-enabling lets them log in again", async () => {
    const { client, user } = await signUpClient(server);
    const tokens = await bearerFor(server, user.username);
    const bearer = { headers: { authorization: `Bearer ${tokens.access}` } };
    assert.equal((await client.get('/api/me')).status, 200);
    assert.equal((await server.client().get('/api/me', bearer)).status, 200);

    const disabled = await admin.send<AdminUser>('PATCH', `/api/admin/users/${user.id}`, { disabled: true });
    assert.equal(disabled.status, 200);
    assert.equal(disabled.body.disabled, true);

    const cookie = await client.get<ErrorBody>('/api/me');
    assert.equal(cookie.status, 401);
    assert.equal(cookie.body.error.code, 'unauthenticated');
    const token = await server.client().get<ErrorBody>('/api/me', bearer);
    assert.equal(token.status, 401);
    assert.equal(token.body.error.code, 'invalid_token');
    assert.equal((await server.client().post('/api/token/refresh', { refresh_token: tokens.refresh })).status, 401);
    assert.equal((await client.get('/check_session')).status, 204);
    const login = await server.client().post<ErrorBody>('/login', { username: user.username, password: GOOD_PASSWORD });
    assert.equal(login.status, 401);
    assert.equal(login.body.error.code, 'invalid_credentials');
    const listed = await admin.get<Page<AdminUser>>(`/api/admin/users?q=${user.username}`);
    assert.equal(listed.body.items[0]?.disabled, true);

    const enabled = await admin.send<AdminUser>('PATCH', `/api/admin/users/${user.id}`, { disabled: false });
    assert.equal(enabled.status, 200);
    assert.equal(enabled.body.disabled, false);
    assert.equal((await client.get('/api/me')).status, 401, 'old sessions stay ended');
    assert.equal((await server.client().get('/api/me', bearer)).status, 401, 'old tokens stay dead');
    const again = server.client();
    assert.equal((await again.post('/login', { username: user.username, password: GOOD_PASSWORD })).status, 200);
    assert.equal((await again.get('/api/me')).status, 200);
    assert.equal((await bearerFor(server, user.username)).access.length > 0, true);
  });

  it('answers 404 for an unknown or malformed user id, 422 for a bad body first', async () => {
    for (const id of ['999999', 'abc', '0', '-1', '01', '1.5', '99999999999999999999']) {
      const res = await admin.send<ErrorBody>('PATCH', `/api/admin/users/${id}`, { role: 'user' });
      assert.equal(res.status, 404, id);
      assert.equal(res.body.error.code, 'not_found', id);
    }
    const { user } = await signUpClient(server);
    for (const body of [{}, { role: 'root' }, { disabled: 'yes' }, { role: null }, []]) {
      const res = await admin.send<ErrorBody>('PATCH', `/api/admin/users/${user.id}`, body);
      assert.equal(res.status, 422, JSON.stringify(body));
      assert.equal(res.body.error.code, 'validation_failed');
    }
    assert.equal((await admin.send('PATCH', '/api/admin/users/abc', {})).status, 422, 'validation before existence');
    assert.equal((await admin.request('PATCH', `/api/admin/users/${user.id}`, { json: { role: 'admin' } })).status, 403, 'CSRF applies to admins too');
  });
});

describe('admin console API: creating users, one user, the dashboard, audit by time', () => {
  let server: TestServer;
  let admin: TestClient;
  let adminId: number;
  before(async () => {
    server = await startTestServer({ LOGIN_FAILURES_PER_ACCOUNT: '3' });
    ({ client: admin, id: adminId } = await adminClient(server));
  });
  after(async () => server.close());

  it('creates a user with a first password: 201 admin view, the address verified, audited with the admin; the user can log in', async () => {
    const username = uniqueName('made');
    const res = await admin.send<AdminUser & { email_verified: boolean }>('POST', '/api/admin/users', { username, email: `${username}@example.com`, password: GOOD_PASSWORD, role: 'admin' });
    assert.equal(res.status, 201, res.text);
    assert.equal(res.body.username, username);
    assert.equal(res.body.role, 'admin');
    assert.equal(res.body.disabled, false);
    assert.equal(res.body.email_verified, true);
    assert.ok(!res.text.includes(GOOD_PASSWORD));
    const login = await server.client().post('/login', { username, password: GOOD_PASSWORD });
    assert.equal(login.status, 200);
    const audit = await admin.get<Page<{ event: string; actor_id: number | null }>>(`/api/admin/audit?user_id=${res.body.id}`);
    assert.deepEqual(audit.body.items.map((row) => [row.event, row.actor_id]).reverse()[0], ['user_created', adminId]);
    const plain = await admin.send<AdminUser>('POST', '/api/admin/users', { username: uniqueName('plain'), password: GOOD_PASSWORD });
    assert.equal(plain.status, 201);
    assert.equal(plain.body.role, 'user', 'role defaults to user');
    assert.equal(plain.body.email, null);
  });

  it("applies the signup's rules: 409 for a taken name or address, 422 for a bad name, a weak password or a bad role; CSRF applies", async () => {
    const taken = uniqueName('taken');
    assert.equal((await admin.send('POST', '/api/admin/users', { username: taken, email: `${taken}@example.com`, password: GOOD_PASSWORD })).status, 201);
    assert.equal((await admin.send<ErrorBody>('POST', '/api/admin/users', { username: taken, password: GOOD_PASSWORD })).body.error.code, 'username_taken');
    assert.equal((await admin.send<ErrorBody>('POST', '/api/admin/users', { username: uniqueName('x'), email: `${taken.toUpperCase()}@example.com`, password: GOOD_PASSWORD })).body.error.code, 'email_taken');
    for (const [body, field] of [
      [{ username: 'a', password: GOOD_PASSWORD }, 'username'],
      [{ username: uniqueName('weak'), password: 'password' }, 'password'],
      [{ username: uniqueName('role'), password: GOOD_PASSWORD, role: 'root' }, 'role'],
      [{ password: GOOD_PASSWORD }, 'username'],
    ] as const) {
      const res = await admin.send<ErrorBody>('POST', '/api/admin/users', body);
      assert.equal(res.status, 422, JSON.stringify(body));
      assert.ok(res.body.error.fields?.[field], `${field} named: ${res.text}`);
    }
    assert.equal((await admin.request('POST', '/api/admin/users', { json: { username: uniqueName('csrf'), password: GOOD_PASSWORD } })).status, 403, 'CSRF applies');
  });

  it('shows one user with their factors; 404 for an unknown id', async () => {
    const { user } = await signUpClient(server);
    const res = await admin.get<{ user: AdminUser; factors: { totp: boolean; recovery_codes_left: number; passkeys: number } }>(`/api/admin/users/${user.id}`);
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.user.id, user.id);
    assert.equal(res.body.user.disabled, false);
    assert.deepEqual(res.body.factors, { totp: false, recovery_codes_left: 0, passkeys: 0 });
    for (const id of ['999999', 'abc', '0']) assert.equal((await admin.get(`/api/admin/users/${id}`)).status, 404, id);
  });

  it('the dashboard counts users, live sign-ins, the last hour of logins and locked accounts', async () => {
    type Dashboard = { at: string; users: { total: number; admins: number; disabled: number }; signed_in: { browser_sessions: number; token_logins: number }; last_hour: { since: string; logins_succeeded: number; logins_failed: number; locked_accounts: number }; mail_queue: number };
    const before = (await admin.get<Dashboard>('/api/admin/dashboard')).body;
    assert.equal(Date.parse(before.at) - Date.parse(before.last_hour.since), 3600_000);
    const { user } = await signUpClient(server);
    const victim = await signUpClient(server);
    assert.equal((await server.client().post('/api/token', { username: user.username, password: GOOD_PASSWORD })).status, 200);
    for (let i = 0; i < 4; i += 1) await server.client().post('/login', { username: victim.user.username, password: 'not the password' });
    assert.equal((await admin.send('PATCH', `/api/admin/users/${user.id}`, { disabled: true })).status, 200);
    const res = await admin.get<Dashboard>('/api/admin/dashboard');
    assert.equal(res.status, 200, res.text);
    const after = res.body;
    assert.equal(after.users.total, before.users.total + 2);
    assert.equal(after.users.admins, before.users.admins);
    assert.equal(after.users.disabled, before.users.disabled + 1);
    // The victim's signup session is live; the disabled user's session and token login ended.
    assert.equal(after.signed_in.browser_sessions, before.signed_in.browser_sessions + 1);
    assert.equal(after.signed_in.token_logins, before.signed_in.token_logins);
    assert.equal(after.last_hour.logins_succeeded, before.last_hour.logins_succeeded + 1, 'the token login');
    assert.equal(after.last_hour.logins_failed, before.last_hour.logins_failed + 3, 'three wrong passwords, then the limit');
    assert.equal(after.last_hour.locked_accounts, before.last_hour.locked_accounts + 1);
    assert.equal(after.mail_queue, 0);
  });

  it('filters the audit log by time: since (inclusive) and until (exclusive), combined with event and user', async () => {
    const { user } = await signUpClient(server);
    const rows = (await admin.get<Page<{ id: number; occurred_at: string; event: string }>>(`/api/admin/audit?user_id=${user.id}`)).body.items;
    const signup = rows.find((row) => row.event === 'signup');
    assert.ok(signup);
    const at = signup.occurred_at;
    const query = (params: string) => admin.get<Page<{ id: number }>>(`/api/admin/audit?user_id=${user.id}&event=signup&${params}`);
    assert.deepEqual((await query(`since=${encodeURIComponent(at)}`)).body.items.map((row) => row.id), [signup.id]);
    assert.deepEqual((await query(`until=${encodeURIComponent(at)}`)).body.items, []);
    const later = new Date(Date.parse(at) + 1).toISOString();
    assert.deepEqual((await query(`since=${encodeURIComponent(later)}`)).body.items, []);
    assert.deepEqual((await query(`until=${encodeURIComponent(later)}`)).body.items.map((row) => row.id), [signup.id]);
    const offset = at.replace('Z', '+00:00');
    assert.deepEqual((await query(`since=${encodeURIComponent(offset)}`)).body.items.map((row) => row.id), [signup.id], 'any RFC 3339 offset');
    for (const bad of ['yesterday', '2026-13-01T00:00:00Z', '']) assert.equal((await admin.get(`/api/admin/audit?since=${encodeURIComponent(bad)}`)).status, 422, bad);
  });
});

describe('last admin protection', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(async () => server.close());

  it('refuses to demote or disable the last active admin (409 last_admin)', async () => {
    const first = await adminClient(server);
    for (const body of [{ role: 'user' }, { disabled: true }, { role: 'user', disabled: true }]) {
      const res = await first.client.send<ErrorBody>('PATCH', `/api/admin/users/${first.id}`, body);
      assert.equal(res.status, 409, JSON.stringify(body));
      assert.equal(res.body.error.code, 'last_admin');
    }
    assert.equal((await first.client.get<{ role: string }>('/api/me')).body.role, 'admin', 'still an admin');

    const { client: secondClient, user: second } = await signUpClient(server);
    assert.equal((await first.client.send('PATCH', `/api/admin/users/${second.id}`, { role: 'admin' })).status, 200);
    // A disabled admin does not count: with the second disabled, the first is the last again.
    assert.equal((await first.client.send('PATCH', `/api/admin/users/${second.id}`, { disabled: true })).status, 200);
    assert.equal((await first.client.send<ErrorBody>('PATCH', `/api/admin/users/${first.id}`, { role: 'user' })).status, 409);
    assert.equal((await first.client.send('PATCH', `/api/admin/users/${second.id}`, { disabled: false })).status, 200);

    const relogged = server.client();
    assert.equal((await relogged.post('/login', { username: second.username, password: GOOD_PASSWORD })).status, 200);
    assert.equal((await secondClient.get('/api/me')).status, 401, 'disabling ended the earlier session');
    const stepDown = await relogged.send<{ role: string }>('PATCH', `/api/admin/users/${first.id}`, { role: 'user' });
    assert.equal(stepDown.status, 200, 'with two active admins one may be demoted');
    assert.equal(stepDown.body.role, 'user');
    const selfDemote = await relogged.send<ErrorBody>('PATCH', `/api/admin/users/${second.id}`, { role: 'user' });
    assert.equal(selfDemote.status, 409);
    assert.equal(selfDemote.body.error.code, 'last_admin');
  });
});
