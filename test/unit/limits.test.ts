/**
 * The limit store and the attempt throttle, in memory.
 *
 * Checked against the old code (1ed912e, whose LoginThrottle has assertAllowed/recordFailure and
 * whose MemoryLimitStore has one shared budget): the same scenarios written against the old API
 * give 50 of 50 concurrent guesses past the check (limit 10), and a block is gone after 101
 * per-address keys are written to a store of 100 keys. The tests below use the new API, so on the
 * old code they do not compile.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FastifyRequest } from 'fastify';
import { OverloadedError, RateLimitedError } from '../../src/errors.js';
import { addressKey } from '../../src/limits/address.js';
import { AttemptThrottle, LoginThrottle } from '../../src/limits/login-throttle.js';
import type { Attempt } from '../../src/limits/login-throttle.js';
import { MemoryLimitStore, tierOf } from '../../src/limits/store.js';
import { ipRateLimit } from '../../src/server/plugins/rate-limit.js';
import { fakeClock } from '../helpers/app.js';

const WINDOW_MS = 15 * 60_000;

async function settle(reservations: Array<Promise<Attempt>>): Promise<{ granted: Attempt[]; refused: RateLimitedError[] }> {
  const outcomes = await Promise.allSettled(reservations);
  const granted: Attempt[] = [];
  const refused: RateLimitedError[] = [];
  for (const outcome of outcomes) {
    if (outcome.status === 'fulfilled') granted.push(outcome.value);
    else if (outcome.reason instanceof RateLimitedError) refused.push(outcome.reason);
    else throw outcome.reason;
  }
  return { granted, refused };
}

describe('addressKey: what a per-address limit counts', () => {
  it('keeps IPv4 addresses as they are', () => {
    assert.equal(addressKey('203.0.113.7'), '203.0.113.7');
    assert.equal(addressKey('127.0.0.1'), '127.0.0.1');
  });

  it('counts an IPv4-mapped IPv6 address as its IPv4 address, in either notation', () => {
    assert.equal(addressKey('::ffff:203.0.113.7'), '203.0.113.7');
    assert.equal(addressKey('::FFFF:cb00:7107'), '203.0.113.7');
  });

  it('masks IPv6 addresses to their /64, whatever the notation', () => {
    const key = addressKey('2001:db8:1:2::1');
    assert.equal(key, '2001:db8:1:2::/64');
    for (const same of ['2001:db8:1:2:ffff:ffff:ffff:ffff', '2001:0DB8:0001:0002:0:0:0:9', '2001:db8:1:2:3:4:1.2.3.4', 'fe80::1%eth0'.replace('fe80::1', '2001:db8:1:2::5')]) {
      assert.equal(addressKey(same), key, same);
    }
    assert.notEqual(addressKey('2001:db8:1:3::1'), key, 'the next /64 is another client');
    assert.equal(addressKey('2001:db8::'), '2001:db8:0:0::/64');
    assert.equal(addressKey('::1'), '0:0:0:0::/64');
  });

  it('leaves anything that is not an address alone', () => {
    assert.equal(addressKey(''), '');
    assert.equal(addressKey('unix-socket'), 'unix-socket');
  });

  it('is what the per-IP rate limit keys on, with the route', () => {
    const limit = ipRateLimit({ rateLimits: true, rateLimitPerIp: 5 });
    assert.ok(limit);
    const key = (ip: string) => limit.keyGenerator({ ip, routeOptions: { url: '/login' } } as unknown as FastifyRequest);
    assert.equal(key('2001:db8:1:2::1'), '2001:db8:1:2::/64|/login');
    assert.equal(key('2001:db8:1:2:aaaa::2'), key('2001:db8:1:2::1'));
    assert.equal(key('::ffff:198.51.100.1'), '198.51.100.1|/login');
  });
});

describe('MemoryLimitStore', () => {
  it('sorts keys into budgets by kind', () => {
    assert.equal(tierOf('ip:203.0.113.7|/login'), 'address');
    assert.equal(tierOf('login:block:name:dave'), 'held');
    assert.equal(tierOf('login:strikes:name:dave'), 'held');
    assert.equal(tierOf('login:attempts:name:dave'), 'counter');
    assert.equal(tierOf('login:attempts:name:x:block:y'), 'counter', 'a typed name cannot move its key to another budget');
  });

  it('keeps blocks, strikes and attempt counters however many per-address keys are sprayed (regression: fault 4)', async () => {
    const store = new MemoryLimitStore(Date.now, 100);
    await store.set('login:block:name:ivan', 1, Date.now() + WINDOW_MS);
    await store.increment('login:strikes:name:ivan', WINDOW_MS);
    await store.increment('login:attempts:name:ivan', WINDOW_MS);
    for (let i = 0; i < 1_000; i += 1) await store.increment(`ip:10.0.${i >> 8}.${i & 255}|/api/token/refresh`, 60_000);
    assert.equal(store.size('address'), 100, 'the per-address budget stays bounded');
    assert.ok(await store.get('login:block:name:ivan'), 'the block survives');
    assert.equal((await store.get('login:strikes:name:ivan'))?.count, 1, 'the strike survives');
    assert.equal((await store.get('login:attempts:name:ivan'))?.count, 1, 'the attempt counter survives');
  });

  it('drops the least recently written per-address counter when that budget is full', async () => {
    const store = new MemoryLimitStore(Date.now, 100);
    for (let i = 0; i < 100; i += 1) await store.increment(`ip:a${i}`, 60_000);
    await store.increment('ip:a0', 60_000);
    await store.increment('ip:new', 60_000);
    assert.equal((await store.get('ip:a0'))?.count, 2, 'written again, so not the oldest');
    assert.equal(await store.get('ip:a1'), null, 'the oldest went');
  });

  it('refuses a new block with OverloadedError when its budget is full of live entries, and sweeps expired ones first', async () => {
    const clock = fakeClock();
    const store = new MemoryLimitStore(clock, 100);
    for (let i = 0; i < 100; i += 1) await store.set(`login:block:name:u${i}`, 1, clock() + (i < 50 ? 1_000 : WINDOW_MS));
    await assert.rejects(store.set('login:block:name:late', 1, clock() + WINDOW_MS), OverloadedError);
    await assert.rejects(store.increment('login:strikes:name:late', WINDOW_MS), OverloadedError);
    for (let i = 0; i < 100; i += 1) assert.ok(await store.get(`login:block:name:u${i}`), `block ${i} is never dropped to make room`);
    clock.advance(1_000);
    await store.set('login:block:name:late', 1, clock() + WINDOW_MS);
    assert.ok(await store.get('login:block:name:late'), 'once some expired, there is room again');
    assert.equal(store.size('held'), 51);
  });

  it('refuses a new attempt counter rather than forgetting one', async () => {
    const store = new MemoryLimitStore(Date.now, 100);
    for (let i = 0; i < 100; i += 1) await store.increment(`login:attempts:name:u${i}`, WINDOW_MS);
    await assert.rejects(store.increment('login:attempts:name:late', WINDOW_MS), OverloadedError);
    assert.equal((await store.increment('login:attempts:name:u0', WINDOW_MS)).count, 2, 'existing counters still count');
  });

  it('decrement takes one back, keeps the window, and removes the key at zero', async () => {
    const clock = fakeClock();
    const store = new MemoryLimitStore(clock);
    await store.increment('k', 1_000);
    clock.advance(400);
    const { resetAt } = await store.increment('k', 1_000);
    await store.decrement('k');
    assert.deepEqual(await store.get('k'), { count: 1, resetAt });
    await store.decrement('k');
    assert.equal(await store.get('k'), null);
    await store.decrement('k');
    assert.equal(await store.get('k'), null, 'an absent key stays absent');
  });
});

describe('AttemptThrottle', () => {
  const make = (clock = fakeClock(), store = new MemoryLimitStore(clock)) => ({ clock, store, throttle: new LoginThrottle(store, 10, WINDOW_MS, true, clock) });

  it('grants exactly the limit of 50 concurrent reservations, and refuses the rest with 429 (regression: fault 2)', async () => {
    const { throttle } = make();
    const { granted, refused } = await settle(Array.from({ length: 50 }, () => throttle.reserve('name:carol')));
    assert.equal(granted.length, 10);
    assert.equal(refused.length, 40);
    for (const error of refused) assert.ok(error.retryAfterSeconds > 0 && error.retryAfterSeconds <= WINDOW_MS / 1000);
  });

  it('blocks with the failure that uses up the window, doubling with each block', async () => {
    const { throttle, clock } = make();
    const blocks: number[] = [];
    for (let round = 0; round < 3; round += 1) {
      for (let i = 0; i < 10; i += 1) await (await throttle.reserve('name:dan')).failed();
      const refusal = await throttle.reserve('name:dan').then(() => null, (error: unknown) => error);
      assert.ok(refusal instanceof RateLimitedError, `round ${round}: blocked`);
      blocks.push(refusal.retryAfterSeconds);
      clock.advance(refusal.retryAfterSeconds * 1000);
    }
    assert.deepEqual(blocks, [900, 1800, 3600]);
  });

  it('never blocks for more than 24 hours, however often the lockouts repeat (LOGIN_FAILURE_WINDOW_SECONDS up to its 86400 maximum)', async () => {
    // Strikes are remembered for 24 h from the first, so the cap only binds when a doubled block
    // falls due within that day: with a 7 h window the third block would be 28 h, with 16 h the
    // second 32 h. Checked: without Math.min(…, MAX_BLOCK_MS) in AttemptThrottle#block this
    // fails at the 7 h window's third lockout ("Retry-After 100800 is over a day").
    const HOUR_S = 3600;
    const expected: Array<[windowS: number, blocks: number[]]> = [
      [900, [900, 1800, 3600, 7200, 14400, 28800, 57600, 900]],
      [7 * HOUR_S, [25200, 50400, 86400, 25200, 50400, 86400]],
      [16 * HOUR_S, [57600, 86400, 57600, 86400]],
      [24 * HOUR_S, [86400, 86400, 86400]],
    ];
    for (const [windowS, blocks] of expected) {
      const clock = fakeClock();
      const throttle = new LoginThrottle(new MemoryLimitStore(clock), 3, windowS * 1000, true, clock);
      const seen: number[] = [];
      for (let lockout = 0; lockout < blocks.length; lockout += 1) {
        for (let i = 0; i < 3; i += 1) await (await throttle.reserve('name:hal')).failed();
        const refusal = await throttle.reserve('name:hal').then(() => null, (error: unknown) => error);
        assert.ok(refusal instanceof RateLimitedError, `window ${windowS} s, lockout ${lockout + 1}: blocked`);
        assert.ok(refusal.retryAfterSeconds <= 24 * HOUR_S, `window ${windowS} s, lockout ${lockout + 1}: Retry-After ${refusal.retryAfterSeconds} is over a day`);
        seen.push(refusal.retryAfterSeconds);
        // The owner waits the block out to the second, then the guesser strikes again.
        clock.advance(refusal.retryAfterSeconds * 1000);
      }
      assert.deepEqual(seen, blocks, `window ${windowS} s`);
    }
  });

  it('gives a cancelled attempt back, and forgets attempts and strikes on success', async () => {
    const { throttle, store } = make();
    const held = await settle(Array.from({ length: 10 }, () => throttle.reserve('name:erin')));
    await held.granted[0]?.cancelled();
    await held.granted[0]?.cancelled();
    const again = await throttle.reserve('name:erin');
    await assert.rejects(throttle.reserve('name:erin'), RateLimitedError, 'one given back, one taken: none left');
    await again.succeeded();
    assert.equal(await store.get('login:attempts:name:erin'), null);
    assert.equal(await store.get('login:strikes:name:erin'), null);
    assert.equal((await settle(Array.from({ length: 12 }, () => throttle.reserve('name:erin')))).granted.length, 10, 'a fresh window');
  });

  it('keeps refused reservations counted, so nothing given back after a refusal reopens the window', async () => {
    const { throttle } = make();
    const held = await settle(Array.from({ length: 11 }, () => throttle.reserve('name:gus')));
    assert.equal(held.refused.length, 1);
    for (const attempt of held.granted.slice(0, 5)) await attempt.cancelled();
    assert.equal((await settle(Array.from({ length: 5 }, () => throttle.reserve('name:gus')))).granted.length, 4);
  });

  it('settles an attempt once: a second failed() adds no strike', async () => {
    const { throttle, store } = make();
    const attempts = (await settle(Array.from({ length: 10 }, () => throttle.reserve('name:fay')))).granted;
    const last = attempts[9];
    assert.ok(last);
    await last.failed();
    await last.failed();
    assert.equal((await store.get('login:strikes:name:fay'))?.count, 1);
  });

  it('keys are namespaced, so another secret (an MFA code) counts apart from logins', async () => {
    const clock = fakeClock();
    const store = new MemoryLimitStore(clock);
    const mfa = new AttemptThrottle({ store, namespace: 'mfa', limit: 5, windowMs: WINDOW_MS, enabled: true, clock });
    const logins = new LoginThrottle(store, 10, WINDOW_MS, true, clock);
    assert.equal((await settle(Array.from({ length: 8 }, () => mfa.reserve('user:1')))).granted.length, 5);
    assert.equal((await settle(Array.from({ length: 8 }, () => logins.reserve('user:1')))).granted.length, 8);
    assert.equal((await store.get('mfa:attempts:user:1'))?.count, 8);
  });

  it('reserves nothing when RATE_LIMITS=off', async () => {
    const store = new MemoryLimitStore();
    const throttle = new LoginThrottle(store, 1, WINDOW_MS, false);
    const { granted } = await settle(Array.from({ length: 20 }, () => throttle.reserve('name:off')));
    assert.equal(granted.length, 20);
    for (const attempt of granted) await attempt.failed();
    assert.equal(await store.get('login:attempts:name:off'), null);
  });
});
