import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Counter, LimitStore, SlidingCount } from './store.js';
import { MemoryLimitStore } from './store.js';

/** Add one; a new key (or one without expiry) starts a window. Returns [count, milliseconds left]. */
const INCREMENT = `
local count = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {count, ttl}`;

/** Take one back, keeping the expiry (DECR does); at zero (or below, or absent) the key is gone. */
const DECREMENT = `
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
if count <= 1 then
  redis.call('DEL', KEYS[1])
  return 0
end
return redis.call('DECR', KEYS[1])`;

/** [count, milliseconds left], or nothing when the key is absent. */
const READ = `
local count = redis.call('GET', KEYS[1])
if not count then return nil end
return {tonumber(count), redis.call('PTTL', KEYS[1])}`;

/**
 * A sliding window as a sorted set of events scored by time: trim what left the window, count,
 * and add one only when there is room, all in one script so concurrent callers on any instance
 * are serialised. ARGV: now, window (ms), limit, a unique member. Returns [allowed 0|1, count].
 * The key expires a window after its newest event, so an idle address leaves nothing behind.
 */
const SLIDING_ADD = `
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[1])
if count >= tonumber(ARGV[3]) then
  return {0, count}
end
redis.call('ZADD', KEYS[1], now, ARGV[4])
redis.call('PEXPIRE', KEYS[1], window)
return {1, count + 1}`;

/** How often the "Redis unavailable" warning may repeat while Redis stays down. */
const WARN_INTERVAL_MS = 60_000;
/** After a failure, calls skip Redis this long, so an unresponsive Redis costs one timeout, not one per call. */
const RETRY_AFTER_FAILURE_MS = 1_000;

export interface LimitStoreLog {
  warn(details: object, message: string): void;
  info(details: object, message: string): void;
}

/**
 * Counters shared by every instance through Redis, so N instances allow what one would.
 * Redis down (or slow beyond the command timeout) is never an error for the caller: each call
 * falls back to this process's own memory counters (per-instance limits) and a warning is
 * logged; calls go back to Redis as soon as it answers again.
 */
export class RedisLimitStore implements LimitStore {
  readonly #fallback: MemoryLimitStore;
  #degradedSince: number | null = null;
  #skipRedisUntil = 0;
  #lastWarning = 0;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly log: LimitStoreLog,
    private readonly clock: () => number = Date.now,
    /** The fallback's budget per kind of key (LIMIT_STORE_MAX_KEYS). */
    fallbackMaxKeys?: number,
  ) {
    this.#fallback = new MemoryLimitStore(clock, fallbackMaxKeys);
  }

  /** True while calls are being answered from memory because Redis failed. */
  get degraded(): boolean {
    return this.#degradedSince !== null;
  }

  async increment(key: string, windowMs: number): Promise<Counter> {
    return this.#attempt(
      async () => {
        const [count, ttl] = (await this.redis.eval(INCREMENT, 1, this.prefix + key, String(Math.max(1, Math.ceil(windowMs))))) as [number, number];
        return { count: Number(count), resetAt: this.clock() + Number(ttl) };
      },
      () => this.#fallback.increment(key, windowMs),
    );
  }

  async decrement(key: string): Promise<void> {
    await this.#attempt(
      async () => {
        await this.redis.eval(DECREMENT, 1, this.prefix + key);
      },
      () => this.#fallback.decrement(key),
    );
  }

  async get(key: string): Promise<Counter | null> {
    return this.#attempt(
      async () => {
        const found = (await this.redis.eval(READ, 1, this.prefix + key)) as [number, number] | null;
        if (!found) return null;
        const ttl = Number(found[1]);
        // -1: no expiry (set by something else); treat as a fresh minute rather than forever.
        return { count: Number(found[0]), resetAt: this.clock() + (ttl >= 0 ? ttl : 60_000) };
      },
      () => this.#fallback.get(key),
    );
  }

  async set(key: string, count: number, resetAt: number): Promise<void> {
    const ms = Math.ceil(resetAt - this.clock());
    await this.#attempt(
      async () => {
        if (ms <= 0) await this.redis.del(this.prefix + key);
        else await this.redis.set(this.prefix + key, String(count), 'PX', ms);
      },
      () => this.#fallback.set(key, count, resetAt),
    );
  }

  async delete(key: string): Promise<void> {
    await this.#attempt(
      async () => {
        await this.redis.del(this.prefix + key);
      },
      () => this.#fallback.delete(key),
    );
    // Counts kept in memory during an outage must not outlive a reset either.
    await this.#fallback.delete(key);
  }

  // The caller's clock, not Redis's TIME, scores the events: the fake clocks of tests move the window
  // as they do the memory store's, and an hour's window shrugs off the seconds instances may differ by.
  async slidingAdd(key: string, windowMs: number, limit: number): Promise<SlidingCount> {
    return this.#attempt(
      async () => {
        const now = this.clock();
        const member = `${now}:${randomBytes(6).toString('base64url')}`;
        const [allowed, count] = (await this.redis.eval(SLIDING_ADD, 1, this.prefix + key, String(now), String(Math.max(1, Math.ceil(windowMs))), String(limit), member)) as [number, number];
        return { allowed: Number(allowed) === 1, count: Number(count) };
      },
      () => this.#fallback.slidingAdd(key, windowMs, limit),
    );
  }

  // Operational time (Date.now), not the injected clock: a frozen test clock must not freeze recovery.
  async #attempt<T>(viaRedis: () => Promise<T>, viaMemory: () => Promise<T>): Promise<T> {
    if (Date.now() < this.#skipRedisUntil) return viaMemory();
    try {
      const result = await viaRedis();
      if (this.#degradedSince !== null) {
        this.log.info({ downForMs: Date.now() - this.#degradedSince }, 'Redis answers again: rate limits are shared across instances again');
        this.#degradedSince = null;
      }
      return result;
    } catch (error) {
      const now = Date.now();
      this.#degradedSince ??= now;
      this.#skipRedisUntil = now + RETRY_AFTER_FAILURE_MS;
      if (now - this.#lastWarning >= WARN_INTERVAL_MS) {
        this.#lastWarning = now;
        this.log.warn({ err: error }, 'Redis unavailable: rate limits fall back to per-instance memory counters');
      }
      return viaMemory();
    }
  }
}
