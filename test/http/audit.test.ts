import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fakeClock, GOOD_PASSWORD, signUpClient, startTestServer, uniqueName } from '../helpers/app.js';
import type { TestServer } from '../helpers/app.js';
import type { TestClient } from '../helpers/http.js';

interface AuditEvent {
  id: number;
  occurred_at: string;
  event: string;
  user_id: number | null;
  username: string | null;
  actor_id: number | null;
  ip: string | null;
  user_agent: string | null;
  detail: Record<string, unknown> | null;
}
interface Page<T> {
  items: T[];
  total: number;
  page: number;
  limit: number;
}

const AGENT = 'audit-test-agent/1.0';

describe('audit log', () => {
  const clock = fakeClock(Date.parse('2027-05-01T08:00:00.000Z'));
  let server: TestServer;
  let admin: TestClient;
  let adminId: number;

  /** The events about one user, oldest first, read through the admin API. */
  async function eventsOf(userId: number): Promise<AuditEvent[]> {
    const res = await admin.get<Page<AuditEvent>>(`/api/admin/audit?user_id=${userId}&limit=100`);
    assert.equal(res.status, 200, res.text);
    return [...res.body.items].reverse();
  }

  before(async () => {
    server = await startTestServer({}, { clock });
    const username = uniqueName('auditor');
    adminId = (await server.services.accounts.signUp({ username, password: GOOD_PASSWORD }, { ip: null, userAgent: null }, 'admin')).id;
    admin = server.client();
    assert.equal((await admin.post('/login', { username, password: GOOD_PASSWORD })).status, 200);
  });
  after(async () => server.close());

  it('records signup, logins, a failed login without the password, and logout, with time, IP and user agent', async () => {
    const username = uniqueName('audited');
    const client = server.client();
    const headers = { 'user-agent': AGENT };
    const signup = await client.post<{ id: number }>('/signup', { username, password: GOOD_PASSWORD }, { headers });
    assert.equal(signup.status, 201);
    const userId = signup.body.id;
    const wrongPassword = 'Not-The-Right-Password-4711';
    assert.equal((await server.client().post('/login', { username, password: wrongPassword }, { headers })).status, 401);
    assert.equal((await client.post('/login', { username, password: GOOD_PASSWORD }, { headers })).status, 200);
    assert.equal((await server.client().post('/api/token', { username, password: GOOD_PASSWORD }, { headers })).status, 200);
    assert.equal((await client.send('DELETE', '/logout', undefined, { headers })).status, 204);

    const events = await eventsOf(userId);
    assert.deepEqual(
      events.map((e) => e.event),
      ['signup', 'login_failed', 'login_succeeded', 'login_succeeded', 'logout'],
    );
    for (const event of events) {
      assert.equal(event.user_id, userId, event.event);
      assert.equal(event.username, username, event.event);
      assert.equal(event.user_agent, AGENT, event.event);
      assert.equal(event.ip, '127.0.0.1', event.event);
      assert.equal(event.occurred_at, new Date(clock()).toISOString(), event.event);
    }
    const failed = events[1];
    assert.deepEqual(failed?.detail, { reason: 'wrong_password' });
    assert.ok(!JSON.stringify(events).includes(wrongPassword), 'the attempted password is nowhere in the log');
    assert.ok(!JSON.stringify(events).includes(GOOD_PASSWORD), 'nor the real one');
    assert.deepEqual(
      events.filter((e) => e.event === 'login_succeeded').map((e) => e.detail),
      [{ via: 'session', amr: 'pwd' }, { via: 'token', amr: 'pwd' }],
    );
  });

  it('records a failed login for an unknown username without naming a user', async () => {
    const ghost = uniqueName('ghost');
    assert.equal((await server.client().post('/login', { username: ghost, password: 'Some-Guess-123456' })).status, 401);
    const res = await admin.get<Page<AuditEvent>>('/api/admin/audit?event=login_failed&limit=1');
    const [row] = res.body.items;
    assert.equal(row?.event, 'login_failed');
    assert.equal(row?.user_id, null);
    assert.deepEqual(row?.detail, { reason: 'unknown_user' });
    assert.ok(!JSON.stringify(row).includes('Some-Guess-123456'));
  });

  it('records refresh token reuse after the grace window, naming the user', async () => {
    const { user } = await signUpClient(server);
    const issued = await server.client().post<{ refresh_token: string }>('/api/token', { username: user.username, password: GOOD_PASSWORD });
    const spent = issued.body.refresh_token;
    assert.equal((await server.client().post('/api/token/refresh', { refresh_token: spent })).status, 200);
    clock.advance((server.config.refreshReuseGraceSeconds + 1) * 1000);
    assert.equal((await server.client().post('/api/token/refresh', { refresh_token: spent })).status, 401);
    const reuse = (await eventsOf(user.id)).filter((e) => e.event === 'token_refresh_reuse');
    assert.equal(reuse.length, 1);
    assert.equal(reuse[0]?.username, user.username, 'the username is copied in even when the writer passed only the id');
    assert.ok(!JSON.stringify(reuse).includes(spent), 'the token itself is not logged');
  });

  it('records role changes and disabling with the acting admin', async () => {
    const { user } = await signUpClient(server);
    assert.equal((await admin.send('PATCH', `/api/admin/users/${user.id}`, { role: 'admin' })).status, 200);
    assert.equal((await admin.send('PATCH', `/api/admin/users/${user.id}`, { role: 'user' })).status, 200);
    assert.equal((await admin.send('PATCH', `/api/admin/users/${user.id}`, { disabled: true })).status, 200);
    assert.equal((await admin.send('PATCH', `/api/admin/users/${user.id}`, { disabled: false })).status, 200);
    const events = (await eventsOf(user.id)).filter((e) => e.event !== 'signup');
    assert.deepEqual(
      events.map((e) => [e.event, e.actor_id, e.detail]),
      [
        ['role_changed', adminId, { from: 'user', to: 'admin' }],
        ['role_changed', adminId, { from: 'admin', to: 'user' }],
        ['user_disabled', adminId, null],
        ['user_enabled', adminId, null],
      ],
    );
    assert.ok(events.every((e) => e.username === user.username));
  });

  it('reads newest first, filters by event and user, and paginates', async () => {
    const all = await admin.get<Page<AuditEvent>>('/api/admin/audit?limit=100');
    assert.equal(all.status, 200);
    assert.equal(all.body.limit, 100);
    const ids = all.body.items.map((e) => e.id);
    assert.deepEqual(
      ids,
      [...ids].sort((a, b) => b - a),
      'newest first',
    );
    assert.equal((await admin.get<Page<AuditEvent>>('/api/admin/audit')).body.limit, 20, 'default limit');

    const signups = await admin.get<Page<AuditEvent>>('/api/admin/audit?event=signup&limit=100');
    assert.ok(signups.body.items.length >= 3);
    assert.ok(signups.body.items.every((e) => e.event === 'signup'));
    assert.equal(signups.body.total, signups.body.items.length);

    const secondPage = await admin.get<Page<AuditEvent>>('/api/admin/audit?limit=2&page=2');
    assert.deepEqual(
      secondPage.body.items.map((e) => e.id),
      ids.slice(2, 4),
    );
    assert.equal(secondPage.body.total, all.body.total);

    for (const query of ['event=nonsense', 'user_id=abc', 'user_id=0', 'limit=101', 'page=0']) {
      const res = await admin.get<{ error: { code: string } }>(`/api/admin/audit?${query}`);
      assert.equal(res.status, 422, query);
    }
  });

  it('is readable by admins only', async () => {
    const { client } = await signUpClient(server);
    const forbidden = await client.get<{ error: { code: string } }>('/api/admin/audit');
    assert.equal(forbidden.status, 403);
    assert.equal(forbidden.body.error.code, 'forbidden');
    assert.equal((await server.client().get('/api/admin/audit')).status, 401);
  });
});
