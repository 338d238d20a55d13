// @requires redis
/**
 * LimitStore.slidingAdd over Redis (one Lua script: trim, count, add), as separate instances share
 * it, and the mail cap built on it: of 20 concurrent reservations for one address through two
 * instances, with a cap of 5, exactly 5 are allowed.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { RedisLimitStore } from '../../src/limits/redis-store.js';
import { Mailer } from '../../src/mail/mailer.js';
import { fileTransport } from '../../src/mail/transport.js';
import { fakeClock, TEST_OUTPUT } from '../helpers/app.js';
import { LOCAL_REDIS_URL } from '../helpers/database.js';

const REDIS_URL = process.env.TEST_REDIS_URL ?? LOCAL_REDIS_URL;
const HOUR = 3600_000;
const quiet = { warn() {}, info() {} };

describe('slidingAdd over Redis, shared by two instances', () => {
  const prefix = `gh_test_${randomBytes(6).toString('hex')}:limit:`;
  const connections: Redis[] = [];
  const clock = fakeClock();
  let a: RedisLimitStore;
  let b: RedisLimitStore;
  let raw: Redis;
  let mailDir: string;

  before(async () => {
    for (let i = 0; i < 3; i += 1) connections.push(new Redis(REDIS_URL, { maxRetriesPerRequest: 1 }));
    const [first, second, third] = connections as [Redis, Redis, Redis];
    a = new RedisLimitStore(first, prefix, quiet, clock);
    b = new RedisLimitStore(second, prefix, quiet, clock);
    raw = third;
    mkdirSync(TEST_OUTPUT, { recursive: true });
    mailDir = mkdtempSync(join(TEST_OUTPUT, 'mail-redis-'));
  });
  after(async () => {
    const keys = await raw.keys(`${prefix}*`);
    if (keys.length > 0) await raw.del(...keys);
    for (const connection of connections) connection.disconnect();
    rmSync(mailDir, { recursive: true, force: true });
  });

  it('allows exactly 5 of 20 concurrent calls made through two instances', async () => {
    const outcomes = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? a : b).slidingAdd('mail:links:race', HOUR, 5)));
    assert.equal(outcomes.filter((o) => o.allowed).length, 5);
    assert.equal(a.degraded || b.degraded, false, 'counted in Redis, not in a fallback');
    assert.equal(await raw.zcard(`${prefix}mail:links:race`), 5, 'refusals recorded nothing');
    const ttl = await raw.pttl(`${prefix}mail:links:race`);
    assert.ok(ttl > HOUR - 60_000 && ttl <= HOUR, `the key expires a window after its newest event (${ttl} ms)`);
  });

  it('slides: an event leaves the window exactly an hour after it happened, on either instance', async () => {
    const key = 'mail:links:slide';
    assert.equal((await a.slidingAdd(key, HOUR, 2)).allowed, true);
    clock.advance(30 * 60_000);
    assert.equal((await b.slidingAdd(key, HOUR, 2)).allowed, true);
    assert.deepEqual(await a.slidingAdd(key, HOUR, 2), { allowed: false, count: 2 });
    clock.advance(30 * 60_000 - 1);
    assert.equal((await b.slidingAdd(key, HOUR, 2)).allowed, false, '1 ms short of the hour');
    clock.advance(1);
    assert.deepEqual(await b.slidingAdd(key, HOUR, 2), { allowed: true, count: 2 });
    assert.equal(a.degraded || b.degraded, false);
  });

  it('caps link mails per address through two instances: 5 of 20 concurrent reservations, whatever the case of the address', async () => {
    const mailers = [a, b].map(
      (limitStore) => new Mailer({ transport: fileTransport(mailDir), from: 'Gatehouse <no-reply@example.com>', publicUrl: 'https://auth.example.com', limitStore, linkMailsPerHour: 5, log: quiet, clock }),
    );
    const spellings = ['Carol@Example.com', 'carol@example.com', 'CAROL@EXAMPLE.COM', ' carol@example.com '];
    const permits = await Promise.all(Array.from({ length: 20 }, (_, i) => (mailers[i % 2] as Mailer).reserveLinkMail(spellings[i % spellings.length] ?? '')));
    assert.equal(permits.filter(Boolean).length, 5);
    assert.equal(a.degraded || b.degraded, false);
    const keys = await raw.keys(`${prefix}mail:links:*`);
    assert.ok(!keys.some((key) => /carol/i.test(key)), `the address is not in the key: ${keys.join(', ')}`);
    for (const mailer of mailers) await mailer.close();
  });
});
