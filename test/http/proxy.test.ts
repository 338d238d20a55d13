// @database-independent: HTTP-layer behaviour only; the PostgreSQL stage does not run it again.
/**
 * TRUST_PROXY (security review, finding 10): the client address that RATE_LIMIT_PER_IP counts is
 * the one the trusted proxy appended to X-Forwarded-For, never a value the client wrote there.
 * An appending proxy (nginx's $proxy_add_x_forwarded_for) keeps what the client sent, so the
 * leftmost entry is the client's choice. The test client plays the proxy: it connects from
 * 127.0.0.1 and sends `X-Forwarded-For: <spoofed>, <what the proxy saw>`.
 *
 * Checked against the old code (this file run from a copy of HEAD's tree): with TRUST_PROXY=on
 * all six spoofed requests answered 401 (every hop was trusted, so each request had a new
 * address); with TRUST_PROXY=2 the old code read `2` as the address 0.0.0.2, not a hop count,
 * so X-Forwarded-For was ignored and six clients behind two proxies shared one allowance. The
 * address-list case passes on the old code as well: a list was already read this way.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GOOD_PASSWORD, startTestServer, uniqueName } from '../helpers/app.js';
import type { TestServer } from '../helpers/app.js';

/** Six failed form-less logins, each with its own X-Forwarded-For; the statuses in order. */
async function sixLogins(server: TestServer, forwardedFor: (n: number) => string): Promise<number[]> {
  const statuses: number[] = [];
  for (let n = 1; n <= 6; n += 1) {
    // A different unknown username each time: only the per-address limit can answer 429.
    const res = await server.client().post('/login', { username: uniqueName('nobody'), password: GOOD_PASSWORD }, { headers: { 'x-forwarded-for': forwardedFor(n) } });
    statuses.push(res.status);
  }
  return statuses;
}

const LIMITED = [401, 401, 401, 429, 429, 429];

async function withServer(env: Record<string, string>, run: (server: TestServer) => Promise<void>): Promise<void> {
  const server = await startTestServer({ RATE_LIMIT_PER_IP: '3', ...env });
  try {
    await run(server);
  } finally {
    await server.close();
  }
}

describe('TRUST_PROXY and the client address', () => {
  it('on (one hop): a client-written leftmost X-Forwarded-For does not choose the address', async () => {
    await withServer({ TRUST_PROXY: 'on' }, async (server) => {
      assert.deepEqual(await sixLogins(server, (n) => `203.0.113.${n}, 127.0.0.1`), LIMITED);
    });
  });

  it('on (one hop): the address the proxy appended is the client, one allowance each', async () => {
    await withServer({ TRUST_PROXY: 'on' }, async (server) => {
      assert.deepEqual(await sixLogins(server, (n) => `198.51.100.${n}`), [401, 401, 401, 401, 401, 401]);
      assert.deepEqual(await sixLogins(server, (n) => `203.0.113.${n}, 198.51.100.200`), LIMITED);
    });
  });

  it('a hop count: two proxies, the client is the address the outer one appended', async () => {
    await withServer({ TRUST_PROXY: '2' }, async (server) => {
      assert.deepEqual(await sixLogins(server, (n) => `203.0.113.${n}, 198.51.100.9, 10.0.0.2`), LIMITED);
      // Six clients behind the same two proxies: six addresses, one allowance each.
      assert.deepEqual(await sixLogins(server, (n) => `203.0.113.1, 198.51.100.${20 + n}, 10.0.0.2`), [401, 401, 401, 401, 401, 401]);
    });
  });

  it("the proxy's addresses: the same holds, whatever the client prepends", async () => {
    await withServer({ TRUST_PROXY: '127.0.0.1, 10.0.0.0/8' }, async (server) => {
      assert.deepEqual(await sixLogins(server, (n) => `203.0.113.${n}, 198.51.100.7`), LIMITED);
      // Through a second listed proxy as well.
      assert.deepEqual(await sixLogins(server, (n) => `203.0.113.${n}, 198.51.100.8, 10.1.2.3`), LIMITED);
      // And the entry the proxy appended is read: six clients, one allowance each.
      assert.deepEqual(await sixLogins(server, (n) => `203.0.113.1, 198.51.100.${30 + n}`), [401, 401, 401, 401, 401, 401]);
    });
  });

  it('off: X-Forwarded-For is ignored, every request is the socket address', async () => {
    await withServer({}, async (server) => {
      assert.deepEqual(await sixLogins(server, (n) => `198.51.100.${n}`), LIMITED);
    });
  });
});
