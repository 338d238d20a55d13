import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { GOOD_PASSWORD, signUpClient, startTestServer, uniqueName } from '../helpers/app.js';
import type { TestServer } from '../helpers/app.js';
import type { TestClient, TestResponse } from '../helpers/http.js';

interface Bucketlist {
  id: number;
  name: string;
  created_at: string;
  updated_at: string;
  items: Array<{ id: number; name: string; done: boolean }>;
}
interface Page {
  items: Array<{ id: number; name: string }>;
  total: number;
}

/** Every route that names a bucketlist (and item), with a valid body where it takes one. */
function attempts(listId: number | string, itemId: number | string): Array<[string, string, unknown]> {
  return [
    ['GET', `/api/bucketlists/${listId}`, undefined],
    ['PUT', `/api/bucketlists/${listId}`, { name: 'Taken over' }],
    ['PATCH', `/api/bucketlists/${listId}`, { name: 'Taken over' }],
    ['DELETE', `/api/bucketlists/${listId}`, undefined],
    ['GET', `/api/bucketlists/${listId}/items`, undefined],
    ['POST', `/api/bucketlists/${listId}/items`, { name: 'Planted item' }],
    ['PUT', `/api/bucketlists/${listId}/items/${itemId}`, { name: 'Changed', done: true }],
    ['PATCH', `/api/bucketlists/${listId}/items/${itemId}`, { done: true }],
    ['DELETE', `/api/bucketlists/${listId}/items/${itemId}`, undefined],
  ];
}

function assertNotFound(res: TestResponse, label: string): void {
  assert.equal(res.status, 404, `${label}: ${res.text}`);
  assert.deepEqual(res.body, { error: { code: 'not_found', message: (res.body as { error: { message: string } }).error.message } }, label);
}

describe('ownership: nobody sees or touches another user’s bucketlists', () => {
  let server: TestServer;
  let alice: TestClient;
  let bob: TestClient;
  let aliceList: Bucketlist;
  let aliceItemId: number;
  let bobListId: number;

  async function aliceSnapshot(): Promise<{ list: Bucketlist; page: Page }> {
    const list = await alice.get<Bucketlist>(`/api/bucketlists/${aliceList.id}`);
    assert.equal(list.status, 200);
    const page = await alice.get<Page>('/api/bucketlists');
    return { list: list.body, page: page.body };
  }

  before(async () => {
    server = await startTestServer();
    alice = (await signUpClient(server)).client;
    bob = (await signUpClient(server)).client;
    const list = await alice.send<Bucketlist>('POST', '/api/bucketlists', { name: 'Alice private plans' });
    const item = await alice.send<{ id: number }>('POST', `/api/bucketlists/${list.body.id}/items`, { name: 'Secret item' });
    aliceItemId = item.body.id;
    aliceList = (await alice.get<Bucketlist>(`/api/bucketlists/${list.body.id}`)).body;
    bobListId = (await bob.send<{ id: number }>('POST', '/api/bucketlists', { name: 'Bob list' })).body.id;
  });
  after(async () => server.close());

  it("answers 404 to every route on another user's ids, exactly as for ids that do not exist", async () => {
    const before = await aliceSnapshot();
    const missing = await bob.get<unknown>('/api/bucketlists/2000000000');
    for (const [method, path, body] of attempts(aliceList.id, aliceItemId)) {
      const res = await bob.send(method, path, body);
      assertNotFound(res, `${method} ${path}`);
      const absent = await bob.send(method, path.replace(`/${aliceList.id}`, '/2000000000'), body);
      assert.deepEqual(
        { status: res.status, body: res.body },
        { status: absent.status, body: absent.body },
        `${method} ${path} looks like a missing id`,
      );
    }
    assert.equal(missing.status, 404);
    assert.deepEqual(await aliceSnapshot(), before, "Alice's data is unchanged");
  });

  it("refuses another user's item under one's own bucketlist", async () => {
    const before = await aliceSnapshot();
    for (const [method, path, body] of attempts(bobListId, aliceItemId).filter(([, path]) => path.includes('/items/'))) {
      assertNotFound(await bob.send(method, path, body), `${method} ${path}`);
    }
    assert.deepEqual(await aliceSnapshot(), before);
  });

  it('keeps lists and searches to the owner', async () => {
    const bobs = await bob.get<Page>('/api/bucketlists?limit=100');
    assert.deepEqual(
      bobs.body.items.map((l) => l.id),
      [bobListId],
    );
    assert.equal(bobs.body.total, 1);
    const search = await bob.get<Page>('/api/bucketlists?q=private');
    assert.deepEqual(search.body, { items: [], total: 0, page: 1, limit: 20 });
  });

  it('holds for bearer tokens and for admins too', async () => {
    const adminName = uniqueName('admin');
    await server.services.accounts.signUp({ username: adminName, password: GOOD_PASSWORD }, { ip: null, userAgent: null }, 'admin');
    const tokens = await server.client().post<{ access_token: string }>('/api/token', { username: adminName, password: GOOD_PASSWORD });
    const headers = { authorization: `Bearer ${tokens.body.access_token}` };
    const before = await aliceSnapshot();
    const api = server.client();
    for (const [method, path, body] of attempts(aliceList.id, aliceItemId)) {
      const res = await api.request(method, path, { headers, ...(body === undefined ? {} : { json: body }) });
      assertNotFound(res, `admin ${method} ${path}`);
    }
    assert.deepEqual(await aliceSnapshot(), before);
  });

  it('answers 404 for ids that are not positive integers', async () => {
    const malformed = ['abc', '0', '-1', '1.5', '01', '+1', '1e3', '0x1', '%20', '%201', '1%20', '99999999999999999999', '2147483648', 'NaN', 'Infinity'];
    for (const bad of malformed) {
      for (const [method, path, body] of attempts(bad, aliceItemId)) assertNotFound(await alice.send(method, path, body), `${method} ${path}`);
      for (const [method, path, body] of attempts(aliceList.id, bad).filter(([, path]) => path.includes('/items/'))) {
        assertNotFound(await alice.send(method, path, body), `${method} ${path}`);
      }
    }
    // The canonical spelling still works, so the 404s above are about the spelling alone.
    assert.equal((await alice.get(`/api/bucketlists/${aliceList.id}`)).status, 200);
  });
});
