// @database-independent: the hash queue's fairness between addresses; no query is in question.
/**
 * A few busy addresses cannot keep everyone else's logins out of the hash queue (fault 5).
 *
 * One hash at a time and four waiting places; three addresses keep 10 logins each in flight for
 * as long as the test runs, so the queue is full nearly all the time. Logins from a fourth address
 * must still get through: each source has a line of its own, and a newcomer from a source holding
 * fewer places than the largest holder takes that holder's newest place.
 *
 * Fails on 1ed912e (first come, first served): there the fourth address's login got 503
 * `overloaded` (4, 5 and 4 of its 5 logins in three runs).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { GOOD_PASSWORD, signUpClient, startTestServer, uniqueName } from '../helpers/app.js';
import type { TestServer } from '../helpers/app.js';

const FLOODERS = ['198.51.100.1', '198.51.100.2', '2001:db8:5:6::1'];
const IN_FLIGHT_PER_FLOODER = 10;
const HASH_QUEUE_MAX = 4;

describe('the hash queue is shared fairly between client addresses', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({
      BCRYPT_COST: '4',
      HASH_CONCURRENCY: '1',
      HASH_QUEUE_MAX: String(HASH_QUEUE_MAX),
      TRUST_PROXY: '1',
      RATE_LIMIT_PER_IP: '1000000',
    });
  });
  after(async () => server.close());

  const tokenLogin = (username: string, password: string, ip: string) =>
    fetch(`${server.url}/api/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-forwarded-for': ip },
      body: JSON.stringify({ username, password }),
    }).then(async (res) => {
      await res.arrayBuffer();
      return res.status;
    });

  /** Resolves once the hasher's queue is full, checked on every turn of the event loop. */
  async function queueFull(): Promise<void> {
    const deadline = Date.now() + 10_000;
    while (server.services.hasher.queueDepth < HASH_QUEUE_MAX) {
      assert.ok(Date.now() < deadline, 'the flood never filled the queue');
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  it('a fourth address logs in while three others keep the queue full', async () => {
    const { user } = await signUpClient(server, uniqueName('legit'));
    let flooding = true;
    const floodStatuses: number[] = [];
    const loop = async (ip: string) => {
      while (flooding) floodStatuses.push(await tokenLogin(uniqueName('ghost'), 'a wrong password', ip));
    };
    const flood = FLOODERS.flatMap((ip) => Array.from({ length: IN_FLIGHT_PER_FLOODER }, () => loop(ip)));
    const legit: number[] = [];
    try {
      for (let i = 0; i < 5; i += 1) {
        await queueFull();
        legit.push(await tokenLogin(user.username, GOOD_PASSWORD, '203.0.113.44'));
      }
    } finally {
      flooding = false;
      await Promise.all(flood);
    }
    const shed = floodStatuses.filter((s) => s === 503).length;
    assert.ok(shed > 0, `the flood was shed in part (${shed} of ${floodStatuses.length}), so the queue was full`);
    assert.ok(
      floodStatuses.every((s) => s === 401 || s === 503),
      `flood answers: ${[...new Set(floodStatuses)].join(', ')}`,
    );
    assert.deepEqual(legit, [200, 200, 200, 200, 200], 'every login from the fourth address got through');
  });
});
