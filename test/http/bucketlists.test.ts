import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fakeClock, GOOD_PASSWORD, signUpClient, startTestServer } from '../helpers/app.js';
import type { TestServer } from '../helpers/app.js';
import type { TestClient } from '../helpers/http.js';

interface Bucketlist {
  id: number;
  name: string;
  created_at: string;
  updated_at: string;
  items?: Item[];
}
interface Item {
  id: number;
  name: string;
  done: boolean;
  created_at: string;
  updated_at: string;
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

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

async function createList(client: TestClient, name: string): Promise<Bucketlist> {
  const res = await client.send<Bucketlist>('POST', '/api/bucketlists', { name });
  assert.equal(res.status, 201, res.text);
  return res.body;
}

async function addItem(client: TestClient, listId: number, body: Record<string, unknown>): Promise<Item> {
  const res = await client.send<Item>('POST', `/api/bucketlists/${listId}/items`, body);
  assert.equal(res.status, 201, res.text);
  return res.body;
}

describe('bucketlists and items', () => {
  const clock = fakeClock(Date.parse('2027-03-01T10:00:00.000Z'));
  let server: TestServer;
  before(async () => {
    server = await startTestServer({}, { clock });
  });
  after(async () => server.close());

  it('creates, reads, renames and deletes a bucketlist', async () => {
    const { client } = await signUpClient(server);
    const created = await client.send<Bucketlist>('POST', '/api/bucketlists', { name: '  Travel  ' });
    assert.equal(created.status, 201);
    assert.deepEqual(Object.keys(created.body).sort(), ['created_at', 'id', 'name', 'updated_at']);
    assert.ok(Number.isInteger(created.body.id) && created.body.id > 0);
    assert.equal(created.body.name, 'Travel', 'stored trimmed');
    assert.match(created.body.created_at, ISO);
    assert.equal(created.body.updated_at, created.body.created_at);
    const id = created.body.id;

    const one = await client.get<Bucketlist>(`/api/bucketlists/${id}`);
    assert.equal(one.status, 200);
    assert.deepEqual(one.body, { ...created.body, items: [] });

    clock.advance(5_000);
    const renamed = await client.send<Bucketlist>('PUT', `/api/bucketlists/${id}`, { name: 'Travel 2027' });
    assert.equal(renamed.status, 200);
    assert.equal(renamed.body.name, 'Travel 2027');
    assert.equal(renamed.body.created_at, created.body.created_at);
    assert.equal(renamed.body.updated_at, new Date(clock()).toISOString());

    const patched = await client.send<Bucketlist>('PATCH', `/api/bucketlists/${id}`, { name: ' Trips ' });
    assert.equal(patched.status, 200);
    assert.equal(patched.body.name, 'Trips');
    assert.equal((await client.get<Bucketlist>(`/api/bucketlists/${id}`)).body.name, 'Trips');

    const deleted = await client.send('DELETE', `/api/bucketlists/${id}`);
    assert.equal(deleted.status, 204);
    assert.equal(deleted.text, '');
    const gone = await client.get<ErrorBody>(`/api/bucketlists/${id}`);
    assert.equal(gone.status, 404);
    assert.equal(gone.body.error.code, 'not_found');
    assert.equal((await client.send('DELETE', `/api/bucketlists/${id}`)).status, 404, 'deleting twice');
  });

  it('creates, lists, updates and deletes items', async () => {
    const { client } = await signUpClient(server);
    const list = await createList(client, 'Skills');
    const first = await addItem(client, list.id, { name: ' Learn to juggle ' });
    assert.deepEqual(Object.keys(first).sort(), ['created_at', 'done', 'id', 'name', 'updated_at']);
    assert.equal(first.name, 'Learn to juggle');
    assert.equal(first.done, false, 'done defaults to false');
    assert.match(first.created_at, ISO);
    clock.advance(1_000);
    const second = await addItem(client, list.id, { name: 'Run a marathon', done: true });
    assert.equal(second.done, true);

    const items = await client.get<{ items: Item[] }>(`/api/bucketlists/${list.id}/items`);
    assert.equal(items.status, 200);
    assert.deepEqual(items.body, { items: [first, second] }, 'oldest first');
    const withItems = await client.get<Bucketlist>(`/api/bucketlists/${list.id}`);
    assert.deepEqual(withItems.body.items, [first, second]);

    clock.advance(1_000);
    const toggled = await client.send<Item>('PATCH', `/api/bucketlists/${list.id}/items/${first.id}`, { done: true });
    assert.equal(toggled.status, 200);
    assert.deepEqual(toggled.body, { ...first, done: true, updated_at: new Date(clock()).toISOString() });

    const replaced = await client.send<Item>('PUT', `/api/bucketlists/${list.id}/items/${first.id}`, { name: 'Juggle five balls', done: false });
    assert.equal(replaced.status, 200);
    assert.equal(replaced.body.name, 'Juggle five balls');
    assert.equal(replaced.body.done, false);

    const putWithoutDone = await client.send<ErrorBody>('PUT', `/api/bucketlists/${list.id}/items/${first.id}`, { name: 'x' });
    assert.equal(putWithoutDone.status, 422, 'PUT replaces the whole item');
    assert.ok(putWithoutDone.body.error.fields?.done);
    const emptyPatch = await client.send<ErrorBody>('PATCH', `/api/bucketlists/${list.id}/items/${first.id}`, {});
    assert.equal(emptyPatch.status, 422);
    const notBoolean = await client.send<ErrorBody>('PATCH', `/api/bucketlists/${list.id}/items/${first.id}`, { done: 'yes' });
    assert.equal(notBoolean.status, 422);
    assert.ok(notBoolean.body.error.fields?.done);

    const listAfter = await client.get<Bucketlist>(`/api/bucketlists/${list.id}`);
    assert.equal(listAfter.body.updated_at, list.updated_at, "changing items leaves the list's updated_at alone");

    assert.equal((await client.send('DELETE', `/api/bucketlists/${list.id}/items/${first.id}`)).status, 204);
    assert.equal((await client.send('DELETE', `/api/bucketlists/${list.id}/items/${first.id}`)).status, 404);
    assert.equal((await client.send('PATCH', `/api/bucketlists/${list.id}/items/${first.id}`, { done: true })).status, 404);
    const remaining = await client.get<{ items: Item[] }>(`/api/bucketlists/${list.id}/items`);
    assert.deepEqual(
      remaining.body.items.map((i) => i.id),
      [second.id],
    );
  });

  it('finds an item only under its own bucketlist', async () => {
    const { client } = await signUpClient(server);
    const a = await createList(client, 'A');
    const b = await createList(client, 'B');
    const item = await addItem(client, a.id, { name: 'in A' });
    assert.equal((await client.send('PATCH', `/api/bucketlists/${b.id}/items/${item.id}`, { done: true })).status, 404);
    assert.equal((await client.send('DELETE', `/api/bucketlists/${b.id}/items/${item.id}`)).status, 404);
    assert.equal((await client.get<{ items: Item[] }>(`/api/bucketlists/${a.id}/items`)).body.items[0]?.done, false);
    assert.equal((await client.get(`/api/bucketlists/999999/items`)).status, 404);
    assert.equal((await client.send('POST', `/api/bucketlists/999999/items`, { name: 'x' })).status, 404);
  });

  it('refuses a second bucketlist with the same name (409 conflict), also on rename', async () => {
    const { client } = await signUpClient(server);
    const travel = await createList(client, 'Travel');
    const dup = await client.send<ErrorBody>('POST', '/api/bucketlists', { name: ' Travel ' });
    assert.equal(dup.status, 409);
    assert.equal(dup.body.error.code, 'conflict');
    assert.ok(dup.body.error.fields?.name);
    const other = await createList(client, 'travel');
    assert.notEqual(other.id, travel.id, 'names compare exactly: case matters');
    const clash = await client.send<ErrorBody>('PUT', `/api/bucketlists/${other.id}`, { name: 'Travel' });
    assert.equal(clash.status, 409);
    assert.equal(clash.body.error.code, 'conflict');
    assert.equal((await client.send('PUT', `/api/bucketlists/${travel.id}`, { name: 'Travel' })).status, 200, 'renaming to its own name is fine');
    const { client: someoneElse } = await signUpClient(server);
    await createList(someoneElse, 'Travel');
    const mine = await client.get<Page<Bucketlist>>('/api/bucketlists');
    assert.deepEqual(
      mine.body.items.map((l) => l.name),
      ['Travel', 'travel'],
    );
  });

  it('creates one list when the same name is posted many times at once (a double submit)', async () => {
    const { client } = await signUpClient(server);
    const results = await Promise.all(Array.from({ length: 8 }, () => client.send('POST', '/api/bucketlists', { name: 'Concurrent' })));
    assert.deepEqual(
      results.map((r) => r.status).sort(),
      [201, 409, 409, 409, 409, 409, 409, 409],
    );
    const mine = await client.get<Page<Bucketlist>>('/api/bucketlists');
    assert.equal(mine.body.total, 1);
  });

  it('validates names: 1–200 code points after trimming, emoji count as one', async () => {
    const { client } = await signUpClient(server);
    const emoji = '😀'.repeat(200);
    assert.equal((await createList(client, emoji)).name, emoji);
    assert.equal((await createList(client, ` ${'a'.repeat(200)} `)).name, 'a'.repeat(200));
    const cases: Array<[unknown, string]> = [
      ['', 'empty'],
      ['   \t ', 'blank'],
      ['a'.repeat(201), '201 characters'],
      ['😀'.repeat(201), '201 emoji'],
      ['line\nbreak', 'control character'],
      ['\ud800', 'lone surrogate'],
      [42, 'a number'],
      [null, 'null'],
    ];
    for (const [name, label] of cases) {
      const res = await client.send<ErrorBody>('POST', '/api/bucketlists', { name });
      assert.equal(res.status, 422, label);
      assert.equal(res.body.error.code, 'validation_failed', label);
      assert.ok(res.body.error.fields?.name, label);
    }
    const missing = await client.send<ErrorBody>('POST', '/api/bucketlists', {});
    assert.equal(missing.status, 422);
    assert.ok(missing.body.error.fields?.name);
    const notObject = await client.send<ErrorBody>('POST', '/api/bucketlists', ['x']);
    assert.equal(notObject.status, 422);

    const list = await createList(client, 'Items are checked too');
    for (const [name, label] of cases) {
      const res = await client.send<ErrorBody>('POST', `/api/bucketlists/${list.id}/items`, { name });
      assert.equal(res.status, 422, label);
      assert.ok(res.body.error.fields?.name, label);
    }
    const item = await addItem(client, list.id, { name: '😀'.repeat(200) });
    const longRename = await client.send<ErrorBody>('PATCH', `/api/bucketlists/${list.id}/items/${item.id}`, { name: 'b'.repeat(201) });
    assert.equal(longRename.status, 422);
    const blankRename = await client.send<ErrorBody>('PUT', `/api/bucketlists/${list.id}`, { name: '  ' });
    assert.equal(blankRename.status, 422);
  });

  it('paginates oldest first with the total; a page past the end is empty', async () => {
    const { client } = await signUpClient(server);
    const made: Bucketlist[] = [];
    for (let i = 1; i <= 25; i += 1) made.push(await createList(client, `List ${String(i).padStart(2, '0')}`));

    const first = await client.get<Page<Bucketlist>>('/api/bucketlists');
    assert.equal(first.status, 200);
    assert.equal(first.body.total, 25);
    assert.equal(first.body.page, 1);
    assert.equal(first.body.limit, 20, 'default limit');
    assert.deepEqual(first.body.items, made.slice(0, 20));

    const second = await client.get<Page<Bucketlist>>('/api/bucketlists?page=2');
    assert.deepEqual(second.body.items, made.slice(20));
    assert.equal(second.body.page, 2);

    const small = await client.get<Page<Bucketlist>>('/api/bucketlists?limit=10&page=3');
    assert.deepEqual(small.body, { items: made.slice(20), total: 25, page: 3, limit: 10 });

    const max = await client.get<Page<Bucketlist>>('/api/bucketlists?limit=100');
    assert.equal(max.body.items.length, 25);

    const past = await client.get<Page<Bucketlist>>('/api/bucketlists?page=4&limit=10');
    assert.equal(past.status, 200);
    assert.deepEqual(past.body, { items: [], total: 25, page: 4, limit: 10 });
  });

  it('refuses a bad limit or page with 422', async () => {
    const { client } = await signUpClient(server);
    const bad: Array<[string, string]> = [
      ['limit=0', 'limit'],
      ['limit=101', 'limit'],
      ['limit=-1', 'limit'],
      ['limit=abc', 'limit'],
      ['limit=1.5', 'limit'],
      ['page=0', 'page'],
      ['page=-1', 'page'],
      ['page=abc', 'page'],
      ['page=2.5', 'page'],
    ];
    for (const [query, field] of bad) {
      const res = await client.get<ErrorBody>(`/api/bucketlists?${query}`);
      assert.equal(res.status, 422, query);
      assert.equal(res.body.error.code, 'validation_failed', query);
      assert.ok(res.body.error.fields?.[field], `${query} names ${field}: ${res.text}`);
    }
  });

  it('searches names case-insensitively, with % and _ taken literally', async () => {
    const { client } = await signUpClient(server);
    for (const name of ['Travel Europe', 'travel asia', 'Cooking', '100% done', 'under_score', 'underXscore']) await createList(client, name);
    const search = async (q: string) => {
      const res = await client.get<Page<Bucketlist>>(`/api/bucketlists?q=${encodeURIComponent(q)}`);
      assert.equal(res.status, 200, q);
      assert.equal(res.body.total, res.body.items.length, q);
      return res.body.items.map((l) => l.name);
    };
    assert.deepEqual(await search('travel'), ['Travel Europe', 'travel asia']);
    assert.deepEqual(await search('TRAVEL'), ['Travel Europe', 'travel asia']);
    assert.deepEqual(await search('vel a'), ['travel asia']);
    assert.deepEqual(await search('%'), ['100% done']);
    assert.deepEqual(await search('_'), ['under_score']);
    assert.deepEqual(await search('nothing like it'), []);
    assert.equal((await search('')).length, 6, 'an empty q is no filter');
    const paged = await client.get<Page<Bucketlist>>('/api/bucketlists?q=travel&limit=1&page=2');
    assert.deepEqual(
      { total: paged.body.total, names: paged.body.items.map((l) => l.name) },
      { total: 2, names: ['travel asia'] },
    );
    assert.equal((await client.get(`/api/bucketlists?q=${'x'.repeat(201)}`)).status, 422, 'q is at most 200 characters');
  });

  it('works the same with a bearer token, which needs no CSRF header', async () => {
    const { user } = await signUpClient(server);
    const tokens = await server.client().post<{ access_token: string }>('/api/token', { username: user.username, password: GOOD_PASSWORD });
    const bearer = { authorization: `Bearer ${tokens.body.access_token}` };
    const api = server.client();
    const created = await api.request<Bucketlist>('POST', '/api/bucketlists', { json: { name: 'Via token' }, headers: bearer });
    assert.equal(created.status, 201);
    const item = await api.request<Item>('POST', `/api/bucketlists/${created.body.id}/items`, { json: { name: 'x' }, headers: bearer });
    assert.equal(item.status, 201);
    const list = await api.request<Page<Bucketlist>>('GET', '/api/bucketlists', { headers: bearer });
    assert.deepEqual(
      list.body.items.map((l) => l.id),
      [created.body.id],
    );
    assert.equal((await api.request('DELETE', `/api/bucketlists/${created.body.id}`, { headers: bearer })).status, 204);
  });

  it('checks in the contract order: 401, CSRF 403, body 400/415, 422, then 404', async () => {
    const { client } = await signUpClient(server);
    const anonymous = await server.client().post<ErrorBody>('/api/bucketlists', { name: 'x' });
    assert.equal(anonymous.status, 401);
    assert.equal(anonymous.body.error.code, 'unauthenticated');

    const noCsrf = await client.post<ErrorBody>('/api/bucketlists', { name: 'x' });
    assert.equal(noCsrf.status, 403);
    assert.equal(noCsrf.body.error.code, 'csrf_failed');

    const malformed = await client.request<ErrorBody>('POST', '/api/bucketlists', {
      body: '{"name": ',
      headers: { 'content-type': 'application/json', 'x-csrf-token': client.csrf ?? '' },
    });
    assert.equal(malformed.status, 400);
    assert.equal(malformed.body.error.code, 'bad_request');

    const form = await client.request<ErrorBody>('POST', '/api/bucketlists', { form: { name: 'x' }, headers: { 'x-csrf-token': client.csrf ?? '' } });
    assert.equal(form.status, 415);

    // A malformed id is a 404, but only once the body is valid.
    const invalidAndMissing = await client.send<ErrorBody>('PUT', '/api/bucketlists/abc', { name: '' });
    assert.equal(invalidAndMissing.status, 422);
    const validButMissing = await client.send<ErrorBody>('PUT', '/api/bucketlists/abc', { name: 'ok' });
    assert.equal(validButMissing.status, 404);
    assert.equal(validButMissing.body.error.code, 'not_found');
  });
});
