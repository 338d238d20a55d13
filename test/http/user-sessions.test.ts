/**
 * The sessions list (GET/DELETE /api/me/sessions, and the admin's /api/admin/users/:id/sessions):
 * what a user sees of where they are signed in, and ending those sign-ins one by one or all at once.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { GOOD_PASSWORD, signUpClient, startTestServer, uniqueName } from '../helpers/app.js';
import type { TestServer } from '../helpers/app.js';
import type { TestClient } from '../helpers/http.js';

interface SignIn {
  id: string;
  kind: 'browser' | 'token';
  current?: boolean;
  created_at: string;
  last_seen_at: string;
  expires_at: string | null;
  ip: string | null;
  user_agent: string | null;
}
interface Tokens {
  access_token: string;
  refresh_token: string;
}
const NO_META = { ip: null, userAgent: null };

/** A user signed in three ways: two browser sessions and one token login. */
async function userWithThreeSignIns(server: TestServer) {
  const { client: first, user } = await signUpClient(server);
  const second = server.client();
  assert.equal((await second.post('/login', { username: user.username, password: GOOD_PASSWORD }, { headers: { 'user-agent': 'second browser' } })).status, 200);
  const tokens = (await server.client().post<Tokens>('/api/token', { username: user.username, password: GOOD_PASSWORD })).body;
  return { user, first, second, tokens };
}

function bearer(tokens: Tokens): { headers: Record<string, string> } {
  return { headers: { authorization: `Bearer ${tokens.access_token}` } };
}

async function list(client: TestClient, options?: { headers: Record<string, string> }): Promise<SignIn[]> {
  const res = await client.get<{ items: SignIn[] }>('/api/me/sessions', options);
  assert.equal(res.status, 200, res.text);
  return res.body.items;
}

describe('the sessions list', () => {
  let server: TestServer;
  let admin: TestClient;
  before(async () => {
    server = await startTestServer();
    const name = uniqueName('admin');
    await server.services.accounts.signUp({ username: name, password: GOOD_PASSWORD }, NO_META, 'admin');
    admin = server.client();
    assert.equal((await admin.post('/login', { username: name, password: GOOD_PASSWORD })).status, 200);
  });
  after(async () => server.close());

  it('lists every live browser session and token login, newest first, the current one marked, and no secret', async () => {
    const { first, second, tokens } = await userWithThreeSignIns(server);
    const items = await list(first);
    assert.deepEqual(items.map((i) => i.kind).sort(), ['browser', 'browser', 'token']);
    const created = items.map((i) => Date.parse(i.created_at));
    assert.deepEqual(created, [...created].sort((x, y) => y - x), 'newest first');
    assert.deepEqual(Object.keys(items[0]!).sort(), ['created_at', 'current', 'expires_at', 'id', 'ip', 'kind', 'last_seen_at', 'user_agent']);
    assert.equal(items.filter((i) => i.current).length, 1);
    assert.equal(items.find((i) => i.current)?.kind, 'browser');
    assert.equal(items.find((i) => i.user_agent === 'second browser')?.current, false);
    for (const item of items) assert.ok(item.expires_at && Date.parse(item.expires_at) > Date.now(), 'ends some time in the future');
    // No id is, contains or derives from a cookie value or a refresh token.
    const secrets = [...first.cookies.values(), ...second.cookies.values(), tokens.refresh_token];
    const text = JSON.stringify(items);
    for (const secret of secrets) assert.ok(!text.includes(secret), 'a secret leaked into the list');

    const viaToken = await list(server.client(), bearer(tokens));
    const { sid } = JSON.parse(Buffer.from(tokens.access_token.split('.')[1]!, 'base64url').toString()) as { sid: string };
    assert.equal(viaToken.find((i) => i.current)?.id, sid, 'a bearer caller\'s current one is its token login');
  });

  it('signs out one other session: its cookie stops working at once, and it leaves the list', async () => {
    const { first, second } = await userWithThreeSignIns(server);
    const target = (await list(first)).find((i) => i.user_agent === 'second browser');
    assert.ok(target);
    assert.equal((await first.send('DELETE', `/api/me/sessions/${target.id}`)).status, 204);
    assert.equal((await second.get('/api/me')).status, 401);
    assert.equal((await first.get('/api/me')).status, 200, 'the caller stays signed in');
    assert.ok(!(await list(first)).some((i) => i.id === target.id));
    assert.equal((await first.send('DELETE', `/api/me/sessions/${target.id}`)).status, 404, 'already ended');
  });

  it('signing out the current session is a logout: cookies cleared, the cookie replayed fails', async () => {
    const { first } = await userWithThreeSignIns(server);
    const replay = first.clone();
    const current = (await list(first)).find((i) => i.current);
    assert.ok(current);
    const res = await first.send('DELETE', `/api/me/sessions/${current.id}`);
    assert.equal(res.status, 204);
    assert.ok(res.setCookies.some((c) => c.name === 'gatehouse_session' && (c.value === '' || c.attributes['max-age'] === '0')), 'the session cookie is cleared');
    assert.equal((await replay.get('/api/me')).status, 401);
  });

  it('ends a token login: its refresh token and its access token stop working', async () => {
    const { first, tokens } = await userWithThreeSignIns(server);
    const login = (await list(first)).find((i) => i.kind === 'token');
    assert.ok(login);
    assert.equal((await first.send('DELETE', `/api/me/sessions/${login.id}`)).status, 204);
    assert.equal((await server.client().get('/api/me', bearer(tokens))).status, 401);
    assert.equal((await server.client().post('/api/token/refresh', { refresh_token: tokens.refresh_token })).status, 401);
  });

  it("answers 404 for another user's session, an unknown id, and an id that is no session at all", async () => {
    const alice = await userWithThreeSignIns(server);
    const bob = await userWithThreeSignIns(server);
    const bobs = await list(bob.first);
    for (const id of [bobs[0]!.id, bobs[1]!.id, '00000000-0000-4000-8000-000000000000', 'not-a-session']) {
      const res = await alice.first.send<{ error: { code: string } }>('DELETE', `/api/me/sessions/${id}`);
      assert.equal(res.status, 404, id);
      assert.equal(res.body.error.code, 'not_found');
    }
    assert.equal((await list(bob.first)).length, 3, "nothing of bob's ended");
  });

  it('signs out everywhere else: every other session and token login ends, the current one stays', async () => {
    const { first, second, tokens } = await userWithThreeSignIns(server);
    const res = await first.send<{ revoked: number }>('DELETE', '/api/me/sessions');
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { revoked: 2 });
    assert.equal((await second.get('/api/me')).status, 401);
    assert.equal((await server.client().get('/api/me', bearer(tokens))).status, 401);
    assert.equal((await first.get('/api/me')).status, 200);
    assert.deepEqual(
      (await list(first)).map((i) => i.current),
      [true],
    );
  });

  it('a bearer caller signs out everywhere else and keeps its own token login', async () => {
    const { first, tokens } = await userWithThreeSignIns(server);
    const res = await server.client().request<{ revoked: number }>('DELETE', '/api/me/sessions', bearer(tokens));
    assert.deepEqual(res.body, { revoked: 2 });
    assert.equal((await first.get('/api/me')).status, 401);
    assert.equal((await server.client().get('/api/me', bearer(tokens))).status, 200);
  });

  it('needs the CSRF token with a cookie, and authentication', async () => {
    const { first } = await userWithThreeSignIns(server);
    const id = (await list(first))[0]!.id;
    assert.equal((await first.request('DELETE', `/api/me/sessions/${id}`)).status, 403);
    assert.equal((await first.request('DELETE', '/api/me/sessions')).status, 403);
    assert.equal((await server.client().get('/api/me/sessions')).status, 401);
    assert.equal((await list(first)).length, 3, 'nothing ended');
  });

  it('records who ended what in the audit log', async () => {
    const { first, user } = await userWithThreeSignIns(server);
    const other = (await list(first)).find((i) => !i.current);
    assert.ok(other);
    await first.send('DELETE', `/api/me/sessions/${other.id}`);
    await first.send('DELETE', '/api/me/sessions');
    const audit = await admin.get<{ items: Array<{ event: string; user_id: number; actor_id: number; detail: Record<string, unknown> }> }>(
      `/api/admin/audit?user_id=${user.id}&event=session_revoked`,
    );
    assert.equal(audit.status, 200, audit.text);
    assert.deepEqual(
      audit.body.items.map((i) => i.detail),
      [
        { count: 1, by: 'self' },
        { id: other.id, kind: other.kind, by: 'self' },
      ],
    );
    assert.ok(audit.body.items.every((i) => i.actor_id === user.id));
  });
});

describe("an admin and a user's sessions", () => {
  let server: TestServer;
  let admin: TestClient;
  let adminId: number;
  before(async () => {
    server = await startTestServer();
    const name = uniqueName('admin');
    adminId = (await server.services.accounts.signUp({ username: name, password: GOOD_PASSWORD }, NO_META, 'admin')).id;
    admin = server.client();
    assert.equal((await admin.post('/login', { username: name, password: GOOD_PASSWORD })).status, 200);
  });
  after(async () => server.close());

  it('lists them without a current flag, and ends them all without disabling the user', async () => {
    const { user, first, second, tokens } = await userWithThreeSignIns(server);
    const seen = await admin.get<{ items: SignIn[] }>(`/api/admin/users/${user.id}/sessions`);
    assert.equal(seen.status, 200);
    assert.equal(seen.body.items.length, 3);
    assert.ok(seen.body.items.every((i) => !('current' in i)));

    const ended = await admin.send<{ revoked: number }>('DELETE', `/api/admin/users/${user.id}/sessions`);
    assert.deepEqual(ended.body, { revoked: 3 });
    for (const client of [first, second]) assert.equal((await client.get('/api/me')).status, 401);
    assert.equal((await server.client().get('/api/me', bearer(tokens))).status, 401);
    assert.equal((await server.client().post('/login', { username: user.username, password: GOOD_PASSWORD })).status, 200, 'not disabled: they can sign in again');

    const audit = await admin.get<{ items: Array<{ actor_id: number; detail: Record<string, unknown> }> }>(`/api/admin/audit?user_id=${user.id}&event=session_revoked`);
    assert.deepEqual(audit.body.items[0], { ...audit.body.items[0], actor_id: adminId, detail: { count: 3, by: 'admin' } });
  });

  it('is for admins only, and 404 for an unknown user', async () => {
    const { user, first } = await userWithThreeSignIns(server);
    assert.equal((await first.get(`/api/admin/users/${user.id}/sessions`)).status, 403);
    assert.equal((await first.send('DELETE', `/api/admin/users/${user.id}/sessions`)).status, 403);
    assert.equal((await admin.get('/api/admin/users/999999/sessions')).status, 404);
    assert.equal((await admin.send('DELETE', '/api/admin/users/999999/sessions')).status, 404);
    assert.equal((await admin.get('/api/admin/users/abc/sessions')).status, 404);
  });
});
