import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { GOOD_PASSWORD, signUpClient, startTestServer } from '../helpers/app.js';
import type { TestServer } from '../helpers/app.js';
import type { TestClient } from '../helpers/http.js';

interface Created {
  id: number;
}

async function listWithItems(client: TestClient, name: string, items: number): Promise<{ listId: number; itemIds: number[] }> {
  const list = await client.send<Created>('POST', '/api/bucketlists', { name });
  assert.equal(list.status, 201);
  const itemIds = [];
  for (let i = 0; i < items; i += 1) {
    const item = await client.send<Created>('POST', `/api/bucketlists/${list.body.id}/items`, { name: `${name} item ${i}` });
    assert.equal(item.status, 201);
    itemIds.push(item.body.id);
  }
  return { listId: list.body.id, itemIds };
}

describe('cascading deletes', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(async () => server.close());

  async function count(table: 'bucketlists' | 'items', column: 'owner_id' | 'bucketlist_id' | 'id', values: number[]): Promise<number> {
    if (values.length === 0) return 0;
    const row = await server.services.db
      .selectFrom(table)
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where(column, 'in', values)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async function orphanItems(): Promise<number> {
    const row = await server.services.db
      .selectFrom('items')
      .leftJoin('bucketlists', 'bucketlists.id', 'items.bucketlist_id')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('bucketlists.id', 'is', null)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async function orphanBucketlists(): Promise<number> {
    const row = await server.services.db
      .selectFrom('bucketlists')
      .leftJoin('users', 'users.id', 'bucketlists.owner_id')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('users.id', 'is', null)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  it('deleting a bucketlist deletes its items and nothing else', async () => {
    const { client } = await signUpClient(server);
    const doomed = await listWithItems(client, 'Doomed', 3);
    const kept = await listWithItems(client, 'Kept', 2);
    assert.equal(await count('items', 'id', doomed.itemIds), 3);

    assert.equal((await client.send('DELETE', `/api/bucketlists/${doomed.listId}`)).status, 204);
    assert.equal(await count('items', 'id', doomed.itemIds), 0, 'its items are gone');
    assert.equal(await count('items', 'bucketlist_id', [doomed.listId]), 0);
    assert.equal(await count('items', 'id', kept.itemIds), 2, 'the other list keeps its items');
    assert.equal(await orphanItems(), 0);
    const still = await client.get<{ items: Created[] }>(`/api/bucketlists/${kept.listId}/items`);
    assert.deepEqual(
      still.body.items.map((i) => i.id),
      kept.itemIds,
    );
  });

  it('deleting a user deletes their bucketlists, items and sessions; the audit log keeps their rows', async () => {
    const { client, user } = await signUpClient(server);
    const first = await listWithItems(client, 'One', 2);
    const second = await listWithItems(client, 'Two', 3);
    const { client: bystander } = await signUpClient(server);
    const theirs = await listWithItems(bystander, 'Not affected', 2);
    assert.equal((await client.send('DELETE', '/logout')).status, 204);
    const relogin = server.client();
    // A fresh session to prove sessions go too.
    assert.equal((await relogin.post('/login', { username: user.username, password: GOOD_PASSWORD })).status, 200);

    // There is no delete-user route yet: delete the row the way an operator (or a future route) would.
    await server.services.db.deleteFrom('users').where('id', '=', user.id).execute();

    assert.equal(await count('bucketlists', 'owner_id', [user.id]), 0, 'no bucketlists left');
    assert.equal(await count('items', 'id', [...first.itemIds, ...second.itemIds]), 0, 'no items left');
    assert.equal(await orphanItems(), 0, 'no orphan items anywhere');
    assert.equal(await orphanBucketlists(), 0, 'no orphan bucketlists anywhere');
    assert.equal(await count('items', 'id', theirs.itemIds), 2, "another user's data is untouched");
    assert.equal((await relogin.get('/api/me')).status, 401, 'their session is gone');

    const audit = await server.services.db.selectFrom('audit_events').select(['event', 'user_id', 'username']).where('user_id', '=', user.id).orderBy('id').execute();
    assert.deepEqual(
      audit.map((row) => [row.event, Number(row.user_id), row.username]),
      [
        ['signup', user.id, user.username],
        ['logout', user.id, user.username],
        ['login_succeeded', user.id, user.username],
      ],
    );
  });
});
