/**
 * LimitStore.slidingAdd on the in-memory store: a cap over any window (not fixed windows), one
 * atomic step per key, a refusal that records nothing, and a budget that refuses new keys rather
 * than forget a live window. The same operation over Redis: test/scaleout/sliding-redis.test.ts;
 * across cluster workers: test/process/cluster-sliding.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OverloadedError } from '../../src/errors.js';
import { MemoryLimitStore } from '../../src/limits/store.js';
import { fakeClock } from '../helpers/app.js';

const HOUR = 3600_000;

describe('MemoryLimitStore.slidingAdd', () => {
  it('allows `limit` events in any window, refuses the next without recording it, and allows again as each event leaves', async () => {
    const clock = fakeClock();
    const store = new MemoryLimitStore(clock);
    assert.deepEqual(await store.slidingAdd('mail:links:a', HOUR, 2), { allowed: true, count: 1 });
    clock.advance(20 * 60_000);
    assert.deepEqual(await store.slidingAdd('mail:links:a', HOUR, 2), { allowed: true, count: 2 });
    clock.advance(30 * 60_000);
    assert.deepEqual(await store.slidingAdd('mail:links:a', HOUR, 2), { allowed: false, count: 2 }, 'two in the last 50 minutes');
    // A fixed window that started with the first event would reopen here; the sliding one does not.
    clock.advance(10 * 60_000 - 1);
    assert.equal((await store.slidingAdd('mail:links:a', HOUR, 2)).allowed, false, 'the first event is 1 ms short of an hour old');
    clock.advance(1);
    assert.deepEqual(await store.slidingAdd('mail:links:a', HOUR, 2), { allowed: true, count: 2 }, 'the first event left the window');
    assert.equal((await store.slidingAdd('mail:links:a', HOUR, 2)).allowed, false, 'the refusals before were not recorded, and this one is the third');
    clock.advance(20 * 60_000);
    assert.deepEqual(await store.slidingAdd('mail:links:a', HOUR, 2), { allowed: true, count: 2 }, 'the second event left');
  });

  it('allows exactly `limit` of 20 concurrent calls for one key', async () => {
    const store = new MemoryLimitStore();
    const outcomes = await Promise.all(Array.from({ length: 20 }, () => store.slidingAdd('mail:links:b', HOUR, 5)));
    assert.equal(outcomes.filter((o) => o.allowed).length, 5);
    assert.deepEqual(outcomes.map((o) => o.count).sort((x, y) => x - y), [1, 2, 3, 4, ...Array<number>(16).fill(5)]);
  });

  it('keeps keys apart, and delete() forgets a window', async () => {
    const store = new MemoryLimitStore();
    await store.slidingAdd('mail:links:c', HOUR, 1);
    assert.equal((await store.slidingAdd('mail:links:c', HOUR, 1)).allowed, false);
    assert.equal((await store.slidingAdd('mail:links:d', HOUR, 1)).allowed, true, 'another key has its own window');
    await store.delete('mail:links:c');
    assert.equal((await store.slidingAdd('mail:links:c', HOUR, 1)).allowed, true);
  });

  it('never forgets a live window to make room: a full budget refuses new keys with OverloadedError until windows expire', async () => {
    const clock = fakeClock();
    const store = new MemoryLimitStore(clock, 100);
    for (let i = 0; i < 100; i += 1) await store.slidingAdd(`mail:links:u${i}`, i < 50 ? 60_000 : HOUR, 1);
    await assert.rejects(store.slidingAdd('mail:links:late', HOUR, 1), OverloadedError);
    for (let i = 0; i < 100; i += 1) assert.equal((await store.slidingAdd(`mail:links:u${i}`, HOUR, 1)).allowed, false, `window ${i} is still there`);
    // Per-address counters sprayed into their own budget push nothing out of this one.
    for (let i = 0; i < 1_000; i += 1) await store.increment(`ip:10.0.${i >> 8}.${i & 255}|/login`, 60_000);
    assert.equal(store.size('window'), 100);
    clock.advance(60_000);
    assert.equal((await store.slidingAdd('mail:links:late', HOUR, 1)).allowed, true, 'expired windows are swept for room');
    assert.equal(store.size('window'), 51);
  });
});
