// @database-independent: HTTP-layer behaviour only; the PostgreSQL stage does not run it again.
// Finding 19 (security review): answers Node's HTTP parser triggers (400, 408) are written raw on
// the socket, past the security-headers hook. On the old code these tests failed on the first
// header compared (content-security-policy was missing): checked by running them against it.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { startTestServer } from '../helpers/app.js';
import type { TestServer } from '../helpers/app.js';

/** The headers every non-HTML answer carries (src/server/plugins/security-headers.ts). */
const PROTECTIVE = ['content-security-policy', 'x-content-type-options', 'x-frame-options', 'referrer-policy', 'cross-origin-resource-policy', 'cache-control'];

interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Send bytes as they are (no client library would send these) and read the answer until the server closes. */
async function rawRequest(url: string, bytes: string): Promise<RawAnswer> {
  const { port } = new URL(url);
  const socket = connect({ port: Number(port), host: '127.0.0.1' });
  let received = '';
  socket.on('data', (chunk: Buffer) => {
    received += chunk.toString('latin1');
  });
  socket.on('error', () => {});
  await once(socket, 'connect');
  socket.write(bytes);
  await once(socket, 'close');
  const split = received.indexOf('\r\n\r\n');
  const [statusLine = '', ...lines] = received.slice(0, split).split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { status: Number(/^HTTP\/1\.1 (\d{3}) /.exec(statusLine)?.[1] ?? 0), headers, body: received.slice(split + 4) };
}

/** What an ordinary JSON answer (a 404, or any error a Host rule gives first) carries, to compare the parser-level answers with. */
async function ordinaryHeaders(server: TestServer): Promise<Record<string, string>> {
  const res = await fetch(`${server.url}/api/no-such-route`);
  await res.arrayBuffer();
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
  return Object.fromEntries(PROTECTIVE.concat('strict-transport-security').flatMap((name) => (res.headers.has(name) ? [[name, res.headers.get(name) ?? '']] : [])));
}

function assertProtected(answer: RawAnswer, expected: Record<string, string>): void {
  for (const name of PROTECTIVE) assert.equal(answer.headers[name], expected[name], name);
  assert.equal(answer.headers['x-content-type-options'], 'nosniff');
  assert.match(answer.headers['content-security-policy'] ?? '', /default-src 'none'.*frame-ancestors 'none'/);
  assert.equal(answer.headers['x-frame-options'], 'DENY');
  assert.equal(answer.headers['cache-control'], 'no-store');
  assert.match(answer.headers['content-type'] ?? '', /^application\/json/);
  assert.equal(Number(answer.headers['content-length']), Buffer.byteLength(answer.body, 'latin1'));
}

describe('answers from the HTTP parser carry the protective headers of every JSON answer', () => {
  let server: TestServer;
  let expected: Record<string, string>;
  before(async () => {
    server = await startTestServer();
    expected = await ordinaryHeaders(server);
    assert.equal(expected['strict-transport-security'], undefined, 'no HSTS over plain HTTP');
  });
  after(async () => server.close());

  it('headers over the 16 KB limit → 400 JSON with them', async () => {
    const answer = await rawRequest(server.url, `GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    assert.equal(answer.status, 400);
    assertProtected(answer, expected);
    assert.equal(answer.headers['strict-transport-security'], undefined);
    assert.deepEqual(JSON.parse(answer.body), { error: { code: 'bad_request', message: 'The request headers are too large.' } });
  });

  it('a malformed request line or header → 400 JSON with them', async () => {
    for (const bytes of ['GET / HTTP/9.9\r\nHost: x\r\n\r\n', 'NOT A REQUEST\r\n\r\n', 'GET / HTTP/1.1\r\nHost: x\r\nBad Header Name: 1\r\n\r\n']) {
      const answer = await rawRequest(server.url, bytes);
      assert.equal(answer.status, 400, JSON.stringify(bytes));
      assertProtected(answer, expected);
      assert.deepEqual(JSON.parse(answer.body), { error: { code: 'bad_request', message: 'The request could not be read.' } });
    }
  });

  it('headers that never finish → 408 JSON with them (after the 10 s headers timeout)', { timeout: 30_000 }, async () => {
    const answer = await rawRequest(server.url, 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ');
    assert.equal(answer.status, 408);
    assertProtected(answer, expected);
    assert.deepEqual(JSON.parse(answer.body), { error: { code: 'bad_request', message: 'The request took too long to arrive.' } });
  });
});

describe('with an https PUBLIC_URL', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ PUBLIC_URL: 'https://auth.example.com' });
  });
  after(async () => server.close());

  it('the parser-level 400 carries HSTS too, as every other answer does', async () => {
    const answer = await rawRequest(server.url, `GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    assert.equal(answer.status, 400);
    assertProtected(answer, await ordinaryHeaders(server));
    assert.equal(answer.headers['strict-transport-security'], 'max-age=31536000; includeSubDomains');
  });
});
