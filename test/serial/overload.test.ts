/**
 * Overload: every kind of work is bounded, and the server sheds what it cannot do instead of
 * letting latency grow without limit.
 *
 * - Password hashing: at most HASH_CONCURRENCY bcrypt operations at once and HASH_QUEUE_MAX
 *   waiting; a login beyond that is answered at once with 503 `overloaded` and Retry-After.
 *   The test sends far more simultaneous logins than that at a realistic cost and shows the queue
 *   never grows past its bound, nothing fails with 500, and health checks and session checks are
 *   answered while the hash pool is saturated.
 * - Sessions per user: MAX_SESSIONS_PER_USER, the oldest ended first.
 * - Slow clients: headers must arrive within 10 s (then 408 and the socket is closed), a whole
 *   request within 30 s; bodies over BODY_LIMIT are refused with 413.
 *
 * Runs alone (test/serial): it saturates the CPU on purpose.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { GOOD_PASSWORD, signUpClient, startTestServer, uniqueName } from '../helpers/app.js';
import type { TestServer } from '../helpers/app.js';

const HASH_CONCURRENCY = 2;
const HASH_QUEUE_MAX = 4;
const FLOOD = 200;

interface Answer {
  status: number;
  code: string | undefined;
  retryAfter: string | null;
}

async function login(server: TestServer, username: string, password: string): Promise<Answer> {
  const response = await fetch(`${server.url}/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  const body = (await response.json()) as { error?: { code?: string } };
  return { status: response.status, code: body.error?.code, retryAfter: response.headers.get('retry-after') };
}

describe('overload: bounded work and load shedding', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({
      BCRYPT_COST: '10',
      HASH_CONCURRENCY: String(HASH_CONCURRENCY),
      HASH_QUEUE_MAX: String(HASH_QUEUE_MAX),
      RATE_LIMITS: 'off',
      MAX_SESSIONS_PER_USER: '3',
    });
  });
  after(async () => server.close());

  it('sheds logins beyond the hash queue with 503 + Retry-After, never 500, while health and session checks are answered', async () => {
    const hasher = server.services.hasher;
    const { user } = await signUpClient(server);
    // The probing session belongs to someone else: the flood's logins trim the flooded user's
    // sessions to MAX_SESSIONS_PER_USER.
    const { client } = await signUpClient(server);

    // Watch the pool on every turn of the event loop for as long as the flood lasts.
    let watching = true;
    let maxQueue = 0;
    let maxInFlight = 0;
    const watch = () => {
      maxQueue = Math.max(maxQueue, hasher.queueDepth);
      maxInFlight = Math.max(maxInFlight, hasher.inFlight);
      if (watching) setImmediate(watch);
    };
    watch();
    const busy = () => hasher.inFlight > 0 || hasher.queueDepth > 0;

    // Every third login uses a wrong password: a failed login costs a hash too and is shed the same way.
    let pending = FLOOD;
    const flood = Promise.all(
      Array.from({ length: FLOOD }, (_, i) => login(server, user.username, i % 3 === 2 ? 'wrong password here' : GOOD_PASSWORD).finally(() => (pending -= 1))),
    );

    // Meanwhile: liveness and session checks, each noting whether the hash pool was still saturated when it was answered.
    const probes: Array<{ what: string; status: number; whileBusy: boolean }> = [];
    while (pending > 0) {
      for (const [what, request] of [
        ['healthz', () => fetch(`${server.url}/healthz`)],
        ['check_session', () => fetch(`${server.url}/check_session`, { headers: { cookie: `gatehouse_session=${client.cookie('gatehouse_session') ?? ''}` } })],
      ] as const) {
        const res = await request();
        await res.arrayBuffer();
        probes.push({ what, status: res.status, whileBusy: busy() && pending > 0 });
      }
    }
    const answers = await flood;
    watching = false;

    const byStatus = new Map<number, number>();
    for (const a of answers) byStatus.set(a.status, (byStatus.get(a.status) ?? 0) + 1);
    const summary = JSON.stringify(Object.fromEntries(byStatus));

    assert.ok(answers.every((a) => [200, 401, 503].includes(a.status)), `only 200, 401 and 503: ${summary}`);
    const shed = answers.filter((a) => a.status === 503);
    assert.ok(shed.length > 0, `some logins were shed: ${summary}`);
    for (const a of shed) {
      assert.equal(a.code, 'overloaded');
      assert.match(a.retryAfter ?? '', /^[1-9]\d*$/, 'Retry-After in whole seconds');
    }
    assert.ok((byStatus.get(200) ?? 0) > 0, `some logins were served: ${summary}`);
    for (const a of answers.filter((x) => x.status === 401)) assert.equal(a.code, 'invalid_credentials');

    assert.ok(maxQueue <= HASH_QUEUE_MAX, `queue depth peaked at ${maxQueue}, bound ${HASH_QUEUE_MAX}`);
    assert.ok(maxInFlight <= HASH_CONCURRENCY, `hashes in flight peaked at ${maxInFlight}, bound ${HASH_CONCURRENCY}`);
    assert.ok(maxQueue > 0, 'the flood did fill the queue');

    assert.ok(probes.every((p) => p.status === 200), `probes: ${JSON.stringify(probes.filter((p) => p.status !== 200))}`);
    assert.ok(probes.some((p) => p.what === 'healthz' && p.whileBusy), 'a health check was answered while the hash pool was saturated');
    assert.ok(probes.some((p) => p.what === 'check_session' && p.whileBusy), 'a session check was answered while the hash pool was saturated');

    // And it recovers: once the flood is over, a login goes straight through.
    assert.equal(hasher.queueDepth, 0);
    assert.equal((await login(server, user.username, GOOD_PASSWORD)).status, 200);
  });

  it('keeps at most MAX_SESSIONS_PER_USER sessions, ending the oldest', async () => {
    const username = uniqueName('many');
    await signUpClient(server, username);
    const clients = [];
    for (let i = 0; i < 5; i += 1) {
      const c = server.client();
      assert.equal((await c.post('/login', { username, password: GOOD_PASSWORD })).status, 200);
      clients.push(c);
    }
    const alive = [];
    for (const c of clients) alive.push((await c.get('/check_session')).status === 200);
    assert.deepEqual(alive, [false, false, true, true, true]);
  });

  it('sets bounded server timeouts', () => {
    const http = server.app.server;
    assert.equal(http.headersTimeout, 10_000);
    assert.equal(http.requestTimeout, 30_000);
    assert.equal(http.keepAliveTimeout, 10_000);
    assert.equal(http.timeout, 60_000, 'an idle socket is closed');
    assert.ok(http.headersTimeout <= http.requestTimeout);
  });

  it('refuses a body over BODY_LIMIT with 413', async () => {
    const res = await fetch(`${server.url}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'x'.repeat(server.config.bodyLimit), password: GOOD_PASSWORD }),
    });
    assert.equal(res.status, 413);
    assert.deepEqual(await res.json(), { error: { code: 'payload_too_large', message: 'The request body is too large.' } });
  });

  it('closes connections whose headers never finish (slowloris) with 408, and keeps serving others', async () => {
    // Real sockets and the real timer: Node enforces headersTimeout itself, there is no clock to inject.
    const { port } = new URL(server.url);
    const sockets: Array<{ socket: Socket; received: string; closed: Promise<unknown> }> = [];
    for (let i = 0; i < 50; i += 1) {
      const socket = connect({ port: Number(port), host: '127.0.0.1' });
      await once(socket, 'connect');
      const entry = { socket, received: '', closed: once(socket, 'close') };
      socket.on('data', (chunk: Buffer) => {
        entry.received += chunk.toString('latin1');
      });
      socket.on('error', () => {});
      socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ');
      sockets.push(entry);
    }
    // A byte now and then keeps the socket from being idle, but the headers never end.
    const drip = setInterval(() => {
      for (const { socket } of sockets) if (!socket.destroyed) socket.write('a');
    }, 500);
    try {
      const health = await fetch(`${server.url}/healthz`);
      assert.equal(health.status, 200, 'other clients are served while 50 sockets hang');
      await Promise.all(sockets.map((s) => s.closed));
    } finally {
      clearInterval(drip);
    }
    for (const { received } of sockets) {
      assert.match(received, /^HTTP\/1\.1 408 /, 'the server answered 408 and closed');
      const body = received.slice(received.indexOf('\r\n\r\n') + 4);
      assert.deepEqual(JSON.parse(body), { error: { code: 'bad_request', message: 'The request took too long to arrive.' } });
    }
  });
});
