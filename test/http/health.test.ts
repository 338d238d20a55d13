import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { assertError } from '../helpers/assert-error.js';
import { fakeClock, GOOD_PASSWORD, signUpClient, startTestServer } from '../helpers/app.js';
import type { TestServer } from '../helpers/app.js';
import type { TestClient } from '../helpers/http.js';

describe('/healthz and /readyz', () => {
  const clock = fakeClock();
  let server: TestServer;
  let client: TestClient;
  before(async () => {
    server = await startTestServer({}, { clock });
    ({ client } = await signUpClient(server));
  });
  after(async () => server.close());

  it('answer 200 without authentication while the database is up', async () => {
    const health = await server.client().get<{ status: string }>('/healthz');
    assert.equal(health.status, 200);
    assert.deepEqual(health.body, { status: 'ok' });
    const ready = await server.client().get<{ status: string }>('/readyz');
    assert.equal(ready.status, 200);
    assert.deepEqual(ready.body, { status: 'ready' });
  });

  it('/readyz is 503 unavailable with Retry-After once the database is gone; /healthz stays 200', async () => {
    await server.storage.close();
    const ready = await server.client().get('/readyz');
    assertError(ready, 503, 'unavailable');
    assert.match(ready.headers.get('retry-after') ?? '', /^\d+$/);
    assert.equal((await server.client().get('/healthz')).status, 200, 'the process itself is still up');
  });

  it('requests that need the database are 503 unavailable too, never 500', async () => {
    // Past the in-memory session cache, so the cookie check has to ask the database.
    clock.advance(5_000);
    const me = await client.get('/api/me');
    assertError(me, 503, 'unavailable');
    assert.match(me.headers.get('retry-after') ?? '', /^\d+$/);
    assertError(await server.client().post('/login', { username: 'someone', password: GOOD_PASSWORD }), 503, 'unavailable');
    assertError(await server.client().post('/signup', { username: 'someone_new', password: GOOD_PASSWORD }), 503, 'unavailable');
  });
});
