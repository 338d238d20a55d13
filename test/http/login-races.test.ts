/**
 * Logins in flight against a password change or a disable, and two admins demoting each other.
 *
 * Checked against the code before the credential epoch (1ed912e, this file copied into a checkout
 * of it): both "held logins" tests failed (every held login got a working session or token login),
 * the burst kept 14 of its 14 credentials, and on PostgreSQL the last-admin race left no admin in
 * round 1 of 20 (on SQLite, transactions already ran one at a time, so that test passed there).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { PasswordHasher } from '../../src/accounts/password.js';
import { GOOD_PASSWORD, signUpClient, startTestServer, uniqueName } from '../helpers/app.js';
import type { TestServer } from '../helpers/app.js';
import type { TestClient, TestResponse } from '../helpers/http.js';

const NEW_PASSWORD = 'a different horse battery';
const NO_META = { ip: null, userAgent: null };

interface Credential {
  kind: 'session' | 'token';
  client: TestClient;
  access?: string;
  refresh?: string;
}

/** Log in once, through the browser route or the token route, and keep whatever it handed out. */
async function logIn(server: TestServer, username: string, kind: Credential['kind']): Promise<{ status: number; credential: Credential | null }> {
  const client = server.client();
  if (kind === 'session') {
    const res = await client.post('/login', { username, password: GOOD_PASSWORD });
    return { status: res.status, credential: res.status === 200 ? { kind, client } : null };
  }
  const res: TestResponse<{ access_token: string; refresh_token: string }> = await client.post('/api/token', { username, password: GOOD_PASSWORD });
  return { status: res.status, credential: res.status === 200 ? { kind, client, access: res.body.access_token, refresh: res.body.refresh_token } : null };
}

/** True when anything the credential holds still works: the session, the access token, or a refresh. */
async function stillWorks(server: TestServer, credential: Credential): Promise<boolean> {
  if (credential.kind === 'session') return (await credential.client.get('/api/me')).status === 200;
  const me = await server.client().get('/api/me', { headers: { authorization: `Bearer ${credential.access}` } });
  const refreshed = await server.client().post('/api/token/refresh', { refresh_token: credential.refresh });
  return me.status === 200 || refreshed.status === 200;
}

/**
 * Hold every password comparison after it has run, until released: the window in which a login
 * has read the user and checked the password but not yet stored its session.
 */
function holdComparisons(hasher: PasswordHasher): { waitFor(count: number): Promise<void>; release(): void; restore(): void } {
  const original = hasher.verify;
  let held = 0;
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  hasher.verify = async function (this: PasswordHasher, ...args: Parameters<PasswordHasher['verify']>) {
    const matches = await original.apply(this, args);
    held += 1;
    await gate;
    return matches;
  };
  return {
    async waitFor(count) {
      const deadline = Date.now() + 10_000;
      while (held < count) {
        if (Date.now() > deadline) throw new Error(`only ${held} of ${count} logins reached the hasher`);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    },
    release,
    restore() {
      hasher.verify = original;
    },
  };
}

/** Wait past the 1 s that a session or login state may be answered from an instance's memory. */
const pastCaches = () => new Promise((resolve) => setTimeout(resolve, 1_100));

describe('a login in flight never outlives a password change or a disable', () => {
  let server: TestServer;
  before(async () => {
    // Limits off: these tests log one account in many times at once on purpose.
    server = await startTestServer({ RATE_LIMITS: 'off', HASH_QUEUE_MAX: '1000' });
  });
  after(async () => server.close());

  it('held logins: a password set while they wait stores none of their sessions or token logins', async () => {
    const { user } = await signUpClient(server);
    const hold = holdComparisons(server.services.hasher);
    try {
      const logins = Array.from({ length: 8 }, (_, i) => logIn(server, user.username, i % 2 === 0 ? 'session' : 'token'));
      await hold.waitFor(8);
      await server.services.accounts.setPassword(user.id, NEW_PASSWORD, { id: null });
      hold.release();
      const results = await Promise.all(logins);
      assert.deepEqual(
        results.map((r) => r.status),
        Array(8).fill(401),
      );
    } finally {
      hold.restore();
    }
    const fresh = await server.client().post('/login', { username: user.username, password: NEW_PASSWORD });
    assert.equal(fresh.status, 200, 'the new password logs in');
  });

  it('held logins: disable and re-enable while they wait, and none of them comes back', async () => {
    const admin = await server.services.accounts.signUp({ username: uniqueName('admin'), password: GOOD_PASSWORD }, NO_META, 'admin');
    const adminClient = server.client();
    assert.equal((await adminClient.post('/login', { username: admin.username, password: GOOD_PASSWORD })).status, 200);
    const { user } = await signUpClient(server);

    const hold = holdComparisons(server.services.hasher);
    let results: Array<{ status: number; credential: Credential | null }>;
    try {
      const logins = Array.from({ length: 8 }, (_, i) => logIn(server, user.username, i % 2 === 0 ? 'session' : 'token'));
      await hold.waitFor(8);
      assert.equal((await adminClient.send('PATCH', `/api/admin/users/${user.id}`, { disabled: true })).status, 200);
      assert.equal((await adminClient.send('PATCH', `/api/admin/users/${user.id}`, { disabled: false })).status, 200);
      hold.release();
      results = await Promise.all(logins);
    } finally {
      hold.restore();
    }
    await pastCaches();
    const survivors = [];
    for (const { credential } of results) if (credential && (await stillWorks(server, credential))) survivors.push(credential.kind);
    assert.deepEqual(survivors, []);
    assert.deepEqual(
      results.map((r) => r.status),
      Array(8).fill(401),
    );
    assert.equal((await logIn(server, user.username, 'session')).status, 200, 'after re-enabling, a new login works');
  });

  it('a real burst at bcrypt cost 10: no credential got with the old password works after the change', async () => {
    const burst = await startTestServer({ RATE_LIMITS: 'off', HASH_QUEUE_MAX: '1000', HASH_CONCURRENCY: '1', BCRYPT_COST: '10' });
    try {
      const { user } = await signUpClient(burst);
      // Early logins queue for the one hash thread, the password change queues behind some of them,
      // and late logins read the old hash before the change commits but are checked after it.
      const early = Array.from({ length: 6 }, (_, i) => logIn(burst, user.username, i % 2 === 0 ? 'session' : 'token'));
      const change = burst.services.accounts.setPassword(user.id, NEW_PASSWORD, { id: null });
      const late = Array.from({ length: 8 }, (_, i) => logIn(burst, user.username, i % 2 === 0 ? 'session' : 'token'));
      const results = await Promise.all([...early, ...late]);
      await change;
      await pastCaches();
      const survivors = [];
      for (const { credential } of results) if (credential && (await stillWorks(burst, credential))) survivors.push(credential.kind);
      assert.deepEqual(survivors, [], `${survivors.length} of ${results.filter((r) => r.credential).length} credentials survived`);
    } finally {
      await burst.close();
    }
  });
});

describe('the last active admin', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(async () => server.close());

  it('two admins demoting each other at once: one wins, the other is refused, one admin remains (20 rounds)', async () => {
    for (let round = 0; round < 20; round += 1) {
      const made = [];
      for (const name of [uniqueName('adm_a'), uniqueName('adm_b')]) {
        const admin = await server.services.accounts.signUp({ username: name, password: GOOD_PASSWORD }, NO_META, 'admin');
        const client = server.client();
        assert.equal((await client.post('/login', { username: name, password: GOOD_PASSWORD })).status, 200);
        made.push({ id: admin.id, client });
      }
      // Leave exactly these two as the active admins.
      const others = await server.services.db.selectFrom('users').select('id').where('role', '=', 'admin').where('id', 'not in', [made[0]!.id, made[1]!.id]).execute();
      for (const other of others) await server.services.db.updateTable('users').set({ role: 'user' }).where('id', '=', other.id).execute();

      const [a, b] = made as [(typeof made)[0], (typeof made)[0]];
      const answers = await Promise.all([
        a.client.send<{ error?: { code: string } }>('PATCH', `/api/admin/users/${b.id}`, { role: 'user' }),
        b.client.send<{ error?: { code: string } }>('PATCH', `/api/admin/users/${a.id}`, { role: 'user' }),
      ]);
      // The loser is refused inside the guard (409 last_admin) or, when the winner's demotion
      // landed before its request was authorised, by the role check (403 forbidden).
      const winners = answers.filter((r) => r.status === 200);
      const loser = answers.find((r) => r.status !== 200);
      assert.equal(winners.length, 1, `round ${round}: ${answers.map((r) => r.text).join(' | ')}`);
      assert.ok(['403 forbidden', '409 last_admin'].includes(`${loser?.status} ${loser?.body.error?.code}`), `round ${round}: ${loser?.text}`);
      const admins = await server.services.db.selectFrom('users').select('id').where('role', '=', 'admin').where('disabled_at', 'is', null).execute();
      assert.equal(admins.length, 1, `round ${round}: active admins left`);
    }
  });
});
