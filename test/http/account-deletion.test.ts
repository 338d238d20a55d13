/**
 * Deleting an account: one's own (DELETE /api/me) and an admin deleting a user
 * (DELETE /api/admin/users/:id). Both need recent authentication; the last active admin stays.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fakeClock, GOOD_PASSWORD, signUpClient, startTestServer, uniqueName } from '../helpers/app.js';
import type { FakeClock, TestServer } from '../helpers/app.js';
import type { TestClient } from '../helpers/http.js';

const NO_META = { ip: null, userAgent: null };
const PAST_REAUTH = 601_000;

interface ErrorBody {
  error: { code: string; fields?: Record<string, string> };
}

describe('deleting an account', () => {
  let server: TestServer;
  let clock: FakeClock;
  before(async () => {
    clock = fakeClock();
    server = await startTestServer({}, { clock });
  });
  after(async () => server.close());

  async function adminClient(): Promise<{ client: TestClient; id: number }> {
    const name = uniqueName('admin');
    const { id } = await server.services.accounts.signUp({ username: name, password: GOOD_PASSWORD }, NO_META, 'admin');
    const client = server.client();
    assert.equal((await client.post('/login', { username: name, password: GOOD_PASSWORD })).status, 200);
    return { client, id };
  }

  it('one\'s own, right after login: 204, cookies cleared, everything owned gone, name and email free, audit rows kept', async () => {
    const email = `${uniqueName('gone')}@example.com`;
    const { client, user } = await signUpClient(server, undefined, undefined, email);
    const list = await client.send<{ id: number }>('POST', '/api/bucketlists', { name: 'Travel' });
    assert.equal(list.status, 201);
    const tokens = (await server.client().post<{ access_token: string }>('/api/token', { username: user.username, password: GOOD_PASSWORD })).body;
    const replay = client.clone();

    const res = await client.send('DELETE', '/api/me');
    assert.equal(res.status, 204, res.text);
    assert.ok(res.setCookies.some((c) => c.name === 'gatehouse_session' && (c.value === '' || c.attributes['max-age'] === '0')));
    assert.equal((await replay.get('/api/me')).status, 401, 'the session ended');
    assert.equal((await server.client().get('/api/me', { headers: { authorization: `Bearer ${tokens.access_token}` } })).status, 401, 'the token login ended');
    assert.equal((await server.client().post('/login', { username: user.username, password: GOOD_PASSWORD })).status, 401);
    const lists = await server.services.db.selectFrom('bucketlists').select('id').where('id', '=', list.body.id).execute();
    assert.deepEqual(lists, [], 'what it owned is gone');
    const again = await server.client().post('/signup', { username: user.username, email, password: GOOD_PASSWORD });
    assert.equal(again.status, 201, 'the username and the email are free again');
    const audit = await server.services.db.selectFrom('audit_events').select(['event', 'username']).where('user_id', '=', user.id).execute();
    assert.ok(audit.some((r) => r.event === 'signup'), 'the audit log keeps its rows');
    assert.deepEqual(
      audit.find((r) => r.event === 'account_deleted'),
      { event: 'account_deleted', username: user.username },
    );
  });

  it('needs recent authentication: 403 reauthentication_required later, or current_password in the body', async () => {
    const { client, user } = await signUpClient(server);
    clock.advance(PAST_REAUTH);
    const late = await client.send<ErrorBody>('DELETE', '/api/me');
    assert.equal(late.status, 403);
    assert.equal(late.body.error.code, 'reauthentication_required');
    const wrong = await client.send<ErrorBody>('DELETE', '/api/me', { current_password: 'not the password' });
    assert.equal(wrong.status, 422);
    assert.deepEqual(Object.keys(wrong.body.error.fields ?? {}), ['current_password']);
    assert.equal((await client.get('/api/me')).status, 200, 'nothing happened yet');
    assert.equal((await client.send('DELETE', '/api/me', { current_password: GOOD_PASSWORD })).status, 204);
    assert.equal((await server.client().post('/login', { username: user.username, password: GOOD_PASSWORD })).status, 401);
  });

  it('after re-authenticating, the session may delete again', async () => {
    const { client } = await signUpClient(server);
    clock.advance(PAST_REAUTH);
    assert.equal((await client.send('DELETE', '/api/me')).status, 403);
    assert.equal((await client.send('POST', '/api/me/reauthenticate', { password: GOOD_PASSWORD })).status, 200);
    assert.equal((await client.send('DELETE', '/api/me')).status, 204);
  });

  it('needs the CSRF token with a cookie', async () => {
    const { client } = await signUpClient(server);
    assert.equal((await client.request('DELETE', '/api/me')).status, 403);
    assert.equal((await client.get('/api/me')).status, 200);
  });

  it('an admin deletes a user: 204; unknown 404; non-admins 403; not recent 403', async () => {
    const { client: admin } = await adminClient();
    const { client: victim, user } = await signUpClient(server);
    assert.equal((await victim.send('DELETE', `/api/admin/users/${user.id}`)).status, 403, 'not an admin');
    assert.equal((await admin.send('DELETE', `/api/admin/users/${user.id}`)).status, 204);
    assert.equal((await victim.get('/api/me')).status, 401, 'their session ended at once');
    assert.equal((await admin.send('DELETE', `/api/admin/users/${user.id}`)).status, 404, 'already gone');
    assert.equal((await admin.send('DELETE', '/api/admin/users/abc')).status, 404);
    clock.advance(PAST_REAUTH);
    const { user: other } = await signUpClient(server);
    const late = await admin.send<ErrorBody>('DELETE', `/api/admin/users/${other.id}`);
    assert.equal(late.status, 403);
    assert.equal(late.body.error.code, 'reauthentication_required');
  });

  it('the last active admin cannot be deleted, by themself or by another; two admins deleting each other leave one (10 rounds)', async () => {
    for (let round = 0; round < 10; round += 1) {
      const a = await adminClient();
      const b = await adminClient();
      // Leave exactly these two as the active admins.
      await server.services.db.updateTable('users').set({ role: 'user' }).where('role', '=', 'admin').where('id', 'not in', [a.id, b.id]).execute();
      const answers = await Promise.all([a.client.send<ErrorBody>('DELETE', `/api/admin/users/${b.id}`), b.client.send<ErrorBody>('DELETE', `/api/admin/users/${a.id}`)]);
      assert.equal(answers.filter((r) => r.status === 204).length, 1, `round ${round}: ${answers.map((r) => r.status).join(', ')}`);
      const admins = await server.services.db.selectFrom('users').select('id').where('role', '=', 'admin').where('disabled_at', 'is', null).execute();
      assert.equal(admins.length, 1, `round ${round}`);
      const survivor = answers[0]!.status === 204 ? a : b;
      const self = await survivor.client.send<ErrorBody>('DELETE', '/api/me');
      assert.equal(self.status, 409, 'the last admin cannot delete themself');
      assert.equal(self.body.error.code, 'last_admin');
      const byId = await survivor.client.send<ErrorBody>('DELETE', `/api/admin/users/${survivor.id}`);
      assert.equal(byId.body.error.code, 'last_admin');
    }
  });
});
