/**
 * Crash safety: what the server acknowledged survives a SIGKILL.
 *
 * The built server (dist/src/main.js, as `npm start` runs it) serves a fresh SQLite file while
 * a dozen clients sign up, log in, create bucketlists, rename them, add and delete items. Once
 * enough writes were acknowledged it is killed with SIGKILL in the middle of that load, started
 * again on the same file, and every answer a client got is checked against what the database now
 * holds: each acknowledged signup can log in, each acknowledged session and access token still
 * works, each acknowledged list and item exists with the acknowledged name (or the one whose
 * request was cut off), each acknowledged deletion stayed deleted. Two rounds of load and kill;
 * then the file must pass `PRAGMA integrity_check` and `foreign_key_check`, and nothing may be
 * half-written (no user without a password credential, no item without its list).
 *
 * The durability settings that make this hold (WAL, synchronous=FULL) are in
 * src/storage/dialects/sqlite.ts and explained in docs/security.md.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { once } from 'node:events';
import { after, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import SqliteDatabase from 'better-sqlite3';
import { GOOD_PASSWORD, TEST_OUTPUT } from '../helpers/app.js';

const MAIN = join(process.cwd(), 'dist', 'src', 'main.js');
const CLIENTS = 12;

interface Account {
  username: string;
  /** A bearer token handed out before the crash. */
  access?: string;
  /** A session cookie handed out before the crash. */
  cookie?: string;
}

interface ListRecord {
  owner: Account;
  id: number;
  /** The acknowledged name, plus a rename whose answer never came. */
  names: Set<string>;
}

interface ItemRecord {
  owner: Account;
  listId: number;
  id: number;
  /** `deleting`: a DELETE was sent and its answer never came, so either outcome is correct. */
  state: 'present' | 'deleting' | 'deleted';
}

/** Everything a client was told succeeded. */
class Journal {
  readonly accounts: Account[] = [];
  readonly lists: ListRecord[] = [];
  readonly items: ItemRecord[] = [];
  writes = 0;
  readonly unexpected: string[] = [];
}

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  await once(server, 'close');
  return typeof address === 'object' && address ? address.port : 0;
}

class ServerProcess {
  child: ChildProcess | null = null;
  stderr = '';
  readonly url: string;

  constructor(
    readonly port: number,
    readonly databaseFile: string,
  ) {
    this.url = `http://127.0.0.1:${port}`;
  }

  async start(): Promise<void> {
    assert.equal(this.child, null, 'the previous server process has ended');
    this.stderr = '';
    const child = spawn(process.execPath, [MAIN], {
      env: {
        PATH: process.env.PATH ?? '',
        NODE_ENV: 'test',
        HOST: '127.0.0.1',
        PORT: String(this.port),
        DATABASE_URL: `sqlite:${this.databaseFile}`,
        BCRYPT_COST: '4',
        RATE_LIMITS: 'off',
        LOG_LEVEL: 'warn',
        WORKERS: '1',
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      this.stderr += chunk.toString();
    });
    this.child = child;
    // Never leave a server behind if this test process ends early.
    const reap = () => child.kill('SIGKILL');
    process.once('exit', reap);
    child.once('exit', () => process.off('exit', reap));
    // Wait for the process to answer (it migrates, then listens); give up if it exits.
    for (let attempt = 0; attempt < 300; attempt += 1) {
      if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}: ${this.stderr}`);
      try {
        const res = await fetch(`${this.url}/readyz`);
        if (res.status === 200) return;
      } catch {
        // not listening yet
      }
      await delay(50);
    }
    throw new Error(`server did not become ready: ${this.stderr}`);
  }

  async kill(signal: NodeJS.Signals): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill(signal);
    await exited;
    this.child = null;
  }
}

async function call(url: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; json: Record<string, unknown>; setCookie: string[] }> {
  const response = await fetch(url + path, {
    method,
    headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await response.text();
  return { status: response.status, json: (text ? JSON.parse(text) : {}) as Record<string, unknown>, setCookie: response.headers.getSetCookie() };
}

/**
 * One client: sign up, log in (session and token), then lists with renames, items and deletions,
 * until the server stops answering. Any answer other than the expected success is recorded.
 */
async function client(url: string, journal: Journal, round: number, index: number, onWrite: () => void): Promise<void> {
  const expect = (what: string, status: number, wanted: number, json: unknown) => {
    if (status !== wanted) throw new Error(`${what}: ${status} ${JSON.stringify(json)}`);
  };
  try {
    for (let n = 0; ; n += 1) {
      const account: Account = { username: `crash_${round}_${index}_${n}_${randomUUID().slice(0, 6)}` };
      const signup = await call(url, 'POST', '/signup', { username: account.username, password: GOOD_PASSWORD });
      expect('signup', signup.status, 201, signup.json);
      journal.accounts.push(account);
      onWrite();

      const login = await call(url, 'POST', '/login', { username: account.username, password: GOOD_PASSWORD });
      expect('login', login.status, 200, login.json);
      account.cookie = login.setCookie.map((c) => c.split(';')[0] ?? '').find((c) => c.startsWith('gatehouse_session='));
      onWrite();

      const token = await call(url, 'POST', '/api/token', { username: account.username, password: GOOD_PASSWORD });
      expect('token', token.status, 200, token.json);
      account.access = String(token.json.access_token);
      const auth = { authorization: `Bearer ${account.access}` };

      for (let l = 0; l < 3; l += 1) {
        const name = `list ${l} of ${account.username}`;
        const created = await call(url, 'POST', '/api/bucketlists', { name }, auth);
        expect('create list', created.status, 201, created.json);
        const list: ListRecord = { owner: account, id: Number(created.json.id), names: new Set([name]) };
        journal.lists.push(list);
        onWrite();

        const renamed = `renamed ${l} of ${account.username}`;
        list.names.add(renamed);
        const patch = await call(url, 'PATCH', `/api/bucketlists/${list.id}`, { name: renamed }, auth);
        expect('rename list', patch.status, 200, patch.json);
        list.names = new Set([renamed]);
        onWrite();

        const ids: ItemRecord[] = [];
        for (let i = 0; i < 2; i += 1) {
          const item = await call(url, 'POST', `/api/bucketlists/${list.id}/items`, { name: `item ${i}` }, auth);
          expect('create item', item.status, 201, item.json);
          const record: ItemRecord = { owner: account, listId: list.id, id: Number(item.json.id), state: 'present' };
          journal.items.push(record);
          ids.push(record);
          onWrite();
        }
        const doomed = ids[0];
        if (doomed) {
          doomed.state = 'deleting';
          const removed = await call(url, 'DELETE', `/api/bucketlists/${list.id}/items/${doomed.id}`, undefined, auth);
          expect('delete item', removed.status, 204, removed.json);
          doomed.state = 'deleted';
          onWrite();
        }
      }
    }
  } catch (error) {
    // After the kill every request fails to connect: that is the end of this client. Anything
    // else (a 5xx, a refused write before the kill) is a finding.
    const message = error instanceof Error ? error.message : String(error);
    if (!/fetch failed/.test(message)) journal.unexpected.push(message);
  }
}

/** Run the clients until `threshold` more writes were acknowledged, then SIGKILL the server under load. */
async function loadAndKill(server: ServerProcess, journal: Journal, round: number, threshold: number): Promise<void> {
  const target = journal.writes + threshold;
  let killing: Promise<void> | null = null;
  const onWrite = () => {
    journal.writes += 1;
    if (journal.writes >= target && !killing) killing = server.kill('SIGKILL');
  };
  await Promise.all(Array.from({ length: CLIENTS }, (_, index) => client(server.url, journal, round, index, onWrite)));
  await (killing ?? server.kill('SIGKILL'));
}

/** Every acknowledged write is there after the restart. */
async function verify(server: ServerProcess, journal: Journal): Promise<void> {
  assert.deepEqual(journal.unexpected, [], 'no unexpected answers before the kill');
  const tokens = new Map<string, string>();
  for (const account of journal.accounts) {
    const token = await call(server.url, 'POST', '/api/token', { username: account.username, password: GOOD_PASSWORD });
    assert.equal(token.status, 200, `acknowledged signup of ${account.username} can log in after the crash`);
    tokens.set(account.username, String(token.json.access_token));
    if (account.cookie) {
      const me = await call(server.url, 'GET', '/api/me', undefined, { cookie: account.cookie });
      assert.equal(me.status, 200, `acknowledged session of ${account.username} still works`);
    }
    if (account.access) {
      const me = await call(server.url, 'GET', '/api/me', undefined, { authorization: `Bearer ${account.access}` });
      assert.equal(me.status, 200, `access token issued to ${account.username} before the crash still verifies`);
    }
  }
  for (const list of journal.lists) {
    const auth = { authorization: `Bearer ${tokens.get(list.owner.username) ?? ''}` };
    const res = await call(server.url, 'GET', `/api/bucketlists/${list.id}`, undefined, auth);
    assert.equal(res.status, 200, `acknowledged list ${list.id} exists`);
    assert.ok(list.names.has(String(res.json.name)), `list ${list.id} is named "${String(res.json.name)}", expected one of ${[...list.names].join(', ')}`);
  }
  const itemsByList = new Map<number, Set<number>>();
  for (const item of journal.items) {
    if (!itemsByList.has(item.listId)) {
      const auth = { authorization: `Bearer ${tokens.get(item.owner.username) ?? ''}` };
      const res = await call(server.url, 'GET', `/api/bucketlists/${item.listId}/items`, undefined, auth);
      assert.equal(res.status, 200);
      itemsByList.set(item.listId, new Set((res.json.items as Array<{ id: number }>).map((i) => Number(i.id))));
    }
    const present = itemsByList.get(item.listId)?.has(item.id) ?? false;
    if (item.state === 'present') assert.ok(present, `acknowledged item ${item.id} exists`);
    if (item.state === 'deleted') assert.ok(!present, `acknowledged deletion of item ${item.id} held`);
  }
}

describe('crash safety: SIGKILL under load loses nothing that was acknowledged', () => {
  const dir = join(TEST_OUTPUT, 'crash');
  const file = join(dir, `${randomUUID()}.db`);
  let server: ServerProcess | null = null;

  after(async () => {
    await server?.kill('SIGKILL');
    for (const suffix of ['', '-wal', '-shm']) rmSync(`${file}${suffix}`, { force: true });
  });

  it('keeps every acknowledged signup, login, list, rename, item and deletion across two kills', async () => {
    assert.ok(existsSync(MAIN), `${MAIN} is missing: run \`npm run build\` first (npm test does)`);
    mkdirSync(dir, { recursive: true });
    server = new ServerProcess(await freePort(), file);
    const journal = new Journal();

    await server.start();
    for (const round of [1, 2]) {
      await loadAndKill(server, journal, round, 250);
      assert.ok(existsSync(`${file}-wal`), 'the kill left a write-ahead log to recover from');
      await server.start();
      await verify(server, journal);
    }
    assert.ok(journal.accounts.length >= 20 && journal.items.length >= 20, `enough work was acknowledged (${journal.accounts.length} accounts, ${journal.lists.length} lists, ${journal.items.length} items)`);

    // A clean stop, then the file itself.
    await server.kill('SIGTERM');
    const db = new SqliteDatabase(file, { readonly: true });
    try {
      assert.deepEqual(db.pragma('integrity_check'), [{ integrity_check: 'ok' }]);
      assert.deepEqual(db.pragma('foreign_key_check'), []);
      const orphanUsers = db.prepare('select count(*) as n from users u where not exists (select 1 from password_credentials p where p.user_id = u.id)').get() as { n: number };
      assert.equal(orphanUsers.n, 0, 'no user without a password credential');
      const orphanItems = db.prepare('select count(*) as n from items i where not exists (select 1 from bucketlists b where b.id = i.bucketlist_id)').get() as { n: number };
      assert.equal(orphanItems.n, 0, 'no item without its list');
      const orphanSessions = db.prepare('select count(*) as n from sessions s where not exists (select 1 from users u where u.id = s.user_id)').get() as { n: number };
      assert.equal(orphanSessions.n, 0, 'no session without its user');
      const users = db.prepare("select count(*) as n from users where username like 'crash_%'").get() as { n: number };
      assert.ok(users.n >= journal.accounts.length, 'every acknowledged account is in the file');
    } finally {
      db.close();
    }
  });
});
