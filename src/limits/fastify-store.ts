import type { FastifyRateLimitStore, FastifyRateLimitStoreCtor } from '@fastify/rate-limit';
import type { LimitStore } from './store.js';

/**
 * A @fastify/rate-limit store over our LimitStore, so the per-IP limit counts where the login
 * throttle counts: in Redis when REDIS_URL is set (shared by every instance, with the same
 * per-instance fallback when Redis is down), else in this process's memory.
 * Keys already name the route (see plugins/rate-limit.ts), so children share one store. The `ip:`
 * prefix puts them in the in-memory store's per-address budget, the one that may drop its oldest
 * keys: a spray of new addresses can then never push out a block or a strike.
 */
export function rateLimitStore(store: LimitStore, clock: () => number = Date.now): FastifyRateLimitStoreCtor {
  return class LimitStoreAdapter implements FastifyRateLimitStore {
    incr(key: string, callback: (error: Error | null, result?: { current: number; ttl: number }) => void, timeWindow: number): void {
      store.increment(`ip:${key}`, timeWindow).then(
        ({ count, resetAt }) => callback(null, { current: count, ttl: Math.max(0, resetAt - clock()) }),
        (error: unknown) => callback(error instanceof Error ? error : new Error(String(error))),
      );
    }

    child(): FastifyRateLimitStore {
      return this;
    }
  };
}
