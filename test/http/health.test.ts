import assert from 'node:assert/strict';
import { connect } from 'node:net';
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

describe('graceful stop', () => {
  it('answers requests that arrive while closing with 503 overloaded in the contract shape, and lets in-flight ones finish', async () => {
    const server = await startTestServer();
    const { port } = new URL(server.url);
    const socket = connect(Number(port), '127.0.0.1');
    let received = '';
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString();
    });
    const ended = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    const body = JSON.stringify({ username: 'nobody-at-all', password: GOOD_PASSWORD });
    const half = Math.floor(body.length / 2);
    // Request 1 is in flight (its body half sent) when the stop begins; request 2 is pipelined behind it.
    const started = new Promise<void>((resolve) => server.app.server.once('request', () => resolve()));
    socket.write(`POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, half)}`);
    await started;
    const closing = server.app.close();
    await new Promise((resolve) => setImmediate(resolve));
    socket.write(`${body.slice(half)}GET /api/me HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
    await ended;
    await closing;
    await server.close();

    const responses = received.split(/(?=HTTP\/1\.1 )/);
    assert.equal(responses.length, 2, received);
    assert.match(responses[0] ?? '', /^HTTP\/1\.1 401 /, 'the in-flight login finished normally');
    const second = responses[1] ?? '';
    assert.match(second, /^HTTP\/1\.1 503 /);
    assert.match(second, /\r\nretry-after: \d+\r\n/i);
    const json = JSON.parse(second.slice(second.indexOf('\r\n\r\n') + 4)) as { error: { code: string } };
    assert.deepEqual(Object.keys(json), ['error']);
    assert.equal(json.error.code, 'overloaded');
  });
});
