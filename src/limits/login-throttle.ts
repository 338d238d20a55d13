import { RateLimitedError } from '../errors.js';
import type { Counter, LimitStore } from './store.js';

const MAX_BLOCK_MS = 24 * 3600 * 1000;
const STRIKE_MEMORY_MS = 24 * 3600 * 1000;

/**
 * One reserved attempt at a secret (a password, later a code). Settle it exactly once, after the
 * secret has been evaluated or has failed to be; later calls are ignored.
 */
export interface Attempt {
  /** The secret was right: the key's attempts and strikes are forgotten. */
  succeeded(): Promise<void>;
  /** The secret was wrong: the attempt stays counted, and the last one the window allows blocks the key. */
  failed(): Promise<void>;
  /** The secret was never evaluated (shed for overload, an error): the attempt is given back. */
  cancelled(): Promise<void>;
}

export interface AttemptThrottleOptions {
  store: LimitStore;
  /** What the keys belong to (`login`, `mfa`, …): store keys are `<namespace>:<kind>:<key>`. */
  namespace: string;
  /** Attempts evaluated per key per window. */
  limit: number;
  windowMs: number;
  /** false (RATE_LIMITS=off): every reservation is granted and nothing is counted. */
  enabled: boolean;
  clock?: () => number;
}

const UNCOUNTED: Attempt = {
  succeeded: async () => {},
  failed: async () => {},
  cancelled: async () => {},
};

/**
 * At most `limit` attempts per key are evaluated in a window, however many arrive at once: each
 * attempt is reserved by one atomic increment of the key's attempt counter BEFORE the secret is
 * evaluated, and refused (429) once the count passes the limit. So the counter holds attempts in
 * flight plus failures; a success resets it and an attempt that was never evaluated is given back.
 * A refused reservation stays counted (taking it back would be a second step that could land in
 * the next window), so once a window has refused anyone, nothing given back reopens it.
 *
 * The failure that uses up a window also blocks the key, for a time that doubles with each repeat
 * within a day (window, 2×, 4×… up to a day), so a guesser slows to a crawl while the owner is
 * only ever locked out for a bounded, stated time. The counter is not cleared when the block is
 * set: it expires within the block anyway, and clearing it would let a reservation that raced
 * with the block in.
 *
 * Keys are whatever the caller names; the caller keys unknown and known names alike, so a 429
 * reveals nothing about whether an account exists.
 */
export class AttemptThrottle {
  readonly #store: LimitStore;
  readonly #namespace: string;
  readonly #limit: number;
  readonly #windowMs: number;
  readonly #enabled: boolean;
  readonly #clock: () => number;

  constructor(options: AttemptThrottleOptions) {
    this.#store = options.store;
    this.#namespace = options.namespace;
    this.#limit = options.limit;
    this.#windowMs = options.windowMs;
    this.#enabled = options.enabled;
    this.#clock = options.clock ?? Date.now;
  }

  /** Reserve one attempt for `key`. Throws RateLimitedError (429) while the key is blocked or its window is used up. */
  async reserve(key: string): Promise<Attempt> {
    if (!this.#enabled) return UNCOUNTED;
    const block = await this.#store.get(this.#key('block', key));
    if (block) throw this.#refusal(block);
    const counted = await this.#store.increment(this.#key('attempts', key), this.#windowMs);
    if (counted.count > this.#limit) throw this.#refusal(counted);
    return this.#attempt(key, counted.count);
  }

  #attempt(key: string, number: number): Attempt {
    let settled = false;
    const once = (settle: () => Promise<void>) => async () => {
      if (settled) return;
      settled = true;
      await settle();
    };
    return {
      succeeded: once(() => this.#forget(key)),
      failed: once(() => (number >= this.#limit ? this.#block(key) : Promise.resolve())),
      cancelled: once(() => this.#store.decrement(this.#key('attempts', key))),
    };
  }

  async #forget(key: string): Promise<void> {
    await this.#store.delete(this.#key('attempts', key));
    await this.#store.delete(this.#key('strikes', key));
  }

  async #block(key: string): Promise<void> {
    const strikes = await this.#store.increment(this.#key('strikes', key), STRIKE_MEMORY_MS);
    const blockMs = Math.min(this.#windowMs * 2 ** (strikes.count - 1), MAX_BLOCK_MS);
    await this.#store.set(this.#key('block', key), 1, this.#clock() + blockMs);
  }

  #refusal(until: Counter): RateLimitedError {
    return new RateLimitedError(Math.max(1, Math.ceil((until.resetAt - this.#clock()) / 1000)));
  }

  #key(kind: 'attempts' | 'block' | 'strikes', key: string): string {
    return `${this.#namespace}:${kind}:${key}`;
  }
}

/** Password logins per typed identifier (LOGIN_FAILURES_PER_ACCOUNT per LOGIN_FAILURE_WINDOW_SECONDS). */
export class LoginThrottle extends AttemptThrottle {
  constructor(store: LimitStore, limit: number, windowMs: number, enabled: boolean, clock: () => number = Date.now) {
    super({ store, namespace: 'login', limit, windowMs, enabled, clock });
  }
}
