// @database-independent: HTTP-layer behaviour only; the PostgreSQL stage does not run it again.
/**
 * DNS rebinding (security review, finding 14): a server listening on a loopback address answers
 * only to a loopback Host, `localhost` (any port) or PUBLIC_URL's host name; any other Host gets
 * 403 `forbidden` before any route runs. A server listening on another address does not check.
 *
 * Checked against the old code (this file run from a copy of HEAD's tree): the rebinding
 * requests (`Host: rebind.attacker.example:<port>`) answered 200 there, as the review found.
 */
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { GOOD_PASSWORD, signUpClient, startTestServer } from '../helpers/app.js';
import type { TestServer } from '../helpers/app.js';

interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** fetch() will not send a Host of our choosing; node:http does. */
function withHost(server: TestServer, method: string, path: string, host: string, options: { json?: unknown; headers?: Record<string, string> } = {}): Promise<RawResponse> {
  const url = new URL(server.url);
  const body = options.json === undefined ? undefined : JSON.stringify(options.json);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        method,
        path,
        setHost: false,
        headers: { host, ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...(options.headers ?? {}) },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** An HTTP/1.0 request without any Host header, straight on the socket. */
function withoutHost(server: TestServer, path: string): Promise<string> {
  const url = new URL(server.url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: url.hostname, port: Number(url.port) }, () => socket.end(`GET ${path} HTTP/1.0\r\n\r\n`));
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (text += chunk));
    socket.on('end', () => resolve(text));
    socket.on('error', reject);
  });
}

function assertForbidden(res: RawResponse, label: string): void {
  assert.equal(res.status, 403, `${label}: ${res.status} ${res.body.slice(0, 200)}`);
  assert.match(String(res.headers['content-type']), /^application\/json/, label);
  const body = JSON.parse(res.body) as { error: { code: string; message: string } };
  assert.equal(body.error.code, 'forbidden', label);
  assert.match(body.error.message, /host/i, label);
  assert.equal(res.headers['set-cookie'], undefined, `${label}: no cookie for a refused Host`);
  assert.equal(res.headers['x-content-type-options'], 'nosniff', `${label}: the usual headers`);
}

describe('Host check on a loopback listener', () => {
  let server: TestServer;
  let port: string;
  before(async () => {
    // HOST is 127.0.0.1 by default; PUBLIC_URL names the host a local proxy may forward.
    server = await startTestServer({ PUBLIC_URL: 'https://auth.example.com', RATE_LIMIT_PER_IP: '100000' });
    port = new URL(server.url).port;
  });
  after(async () => server.close());

  it('answers a loopback Host, localhost on any port, and PUBLIC_URL\'s host', async () => {
    const allowed = [
      `127.0.0.1:${port}`,
      '127.0.0.1',
      '127.8.9.10:1234',
      `localhost:${port}`,
      'localhost',
      'LocalHost:80',
      `[::1]:${port}`,
      '[::1]',
      '[::ffff:127.0.0.1]:8080',
      'auth.example.com',
      'AUTH.example.com:443',
    ];
    for (const host of allowed) {
      const res = await withHost(server, 'GET', '/healthz', host);
      assert.equal(res.status, 200, `${host}: ${res.body}`);
    }
  });

  it('refuses any other Host with 403 forbidden, before any route (rebinding)', async () => {
    const refused = [
      `rebind.attacker.example:${port}`,
      'rebind.attacker.example',
      `localhost.attacker.example:${port}`,
      `127.0.0.1.attacker.example:${port}`,
      'auth.example.com.attacker.example',
      'attacker.example@localhost',
      'localhost/x',
      '10.0.0.1',
      '0.0.0.0',
      '[::2]',
      '',
    ];
    for (const host of refused) {
      assertForbidden(await withHost(server, 'GET', '/healthz', host), `GET /healthz Host: ${host}`);
    }
    const rebind = `rebind.attacker.example:${port}`;
    // What the review drove through a rebinding page: logins, tokens, pages, unknown routes.
    const { user } = await signUpClient(server);
    const origin = `http://${rebind}`;
    assertForbidden(await withHost(server, 'POST', '/api/token', rebind, { json: { username: user.username, password: GOOD_PASSWORD }, headers: { origin } }), 'POST /api/token');
    assertForbidden(await withHost(server, 'POST', '/login', rebind, { json: { username: user.username, password: GOOD_PASSWORD }, headers: { origin } }), 'POST /login');
    assertForbidden(await withHost(server, 'GET', '/login', rebind, { headers: { accept: 'text/html' } }), 'GET /login');
    assertForbidden(await withHost(server, 'GET', '/no-such-route', rebind), 'an unknown route is 403 too: the route table is not revealed');
  });

  it('refuses a request with no Host at all', async () => {
    const raw = await withoutHost(server, '/healthz');
    assert.match(raw, /^HTTP\/1\.[01] 403 /);
    assert.match(raw, /"code":"forbidden"/);
  });

  it('checks the host of an absolute-form target too, which wins over Host (checked: without it, served as /healthz)', async () => {
    const raw = (target: string) => {
      const url = new URL(server.url);
      return new Promise<string>((resolve, reject) => {
        const socket = connect({ host: url.hostname, port: Number(url.port) }, () => socket.end(`GET ${target} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`));
        let text = '';
        socket.setEncoding('utf8');
        socket.on('data', (chunk: string) => (text += chunk));
        socket.on('end', () => resolve(text));
        socket.on('error', reject);
      });
    };
    const refused = await raw('http://evil.example/healthz');
    assert.match(refused, /^HTTP\/1\.1 403 /);
    assert.match(refused, /"code":"forbidden"/);
    assert.match(await raw(`http://127.0.0.1:${port}/healthz`), /^HTTP\/1\.1 200 /, 'its own address in absolute form is fine');
    assert.match(await raw('/healthz'), /^HTTP\/1\.1 200 /);
  });

  it('reads the Host header itself, never X-Forwarded-Host (a script can set that one)', async () => {
    const proxied = await startTestServer({ TRUST_PROXY: 'on' });
    try {
      const res = await withHost(proxied, 'GET', '/healthz', 'rebind.attacker.example', { headers: { 'x-forwarded-host': 'localhost' } });
      assertForbidden(res, 'X-Forwarded-Host: localhost');
    } finally {
      await proxied.close();
    }
  });

  it('also checks when HOST is localhost or ::1', async () => {
    for (const host of ['localhost', '::1']) {
      const named = await startTestServer({ HOST: host });
      try {
        assertForbidden(await withHost(named, 'GET', '/healthz', 'rebind.attacker.example'), `HOST=${host}`);
        assert.equal((await withHost(named, 'GET', '/healthz', 'localhost:3000')).status, 200, `HOST=${host}`);
      } finally {
        await named.close();
      }
    }
  });
});

describe('Host check on a non-loopback listener', () => {
  it('does not check: behind a proxy the Host is the public name', async () => {
    // HOST=0.0.0.0 is what the check looks at (the test server itself still binds the loopback).
    const server = await startTestServer({ HOST: '0.0.0.0', PUBLIC_URL: 'https://auth.example.com' });
    try {
      for (const host of ['rebind.attacker.example', 'auth.internal:8080', '10.0.0.1']) {
        const res = await withHost(server, 'GET', '/healthz', host);
        assert.equal(res.status, 200, host);
      }
    } finally {
      await server.close();
    }
  });
});
