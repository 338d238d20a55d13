/**
 * Counters with an expiry, shared by all instances when backed by Redis.
 * Keys are opaque; values are small integers.
 */
export interface LimitStore {
  /** Add one to `key`, starting a window of `windowMs` if none is open; returns the new count and when the window ends. */
  increment(key: string, windowMs: number): Promise<{ count: number; resetAt: number }>;
  get(key: string): Promise<{ count: number; resetAt: number } | null>;
  /** Set `key` to `count` until `resetAt`. */
  set(key: string, count: number, resetAt: number): Promise<void>;
  delete(key: string): Promise<void>;
}

/** One process's counters. Bounded: the oldest keys go first when an attacker sprays new ones. */
export class MemoryLimitStore implements LimitStore {
  readonly #entries = new Map<string, { count: number; resetAt: number }>();

  constructor(
    private readonly clock: () => number = Date.now,
    private readonly maxKeys = 100_000,
  ) {}

  async increment(key: string, windowMs: number): Promise<{ count: number; resetAt: number }> {
    const now = this.clock();
    const current = this.#live(key, now);
    const next = current ? { count: current.count + 1, resetAt: current.resetAt } : { count: 1, resetAt: now + windowMs };
    this.#put(key, next);
    return next;
  }

  async get(key: string): Promise<{ count: number; resetAt: number } | null> {
    return this.#live(key, this.clock());
  }

  async set(key: string, count: number, resetAt: number): Promise<void> {
    this.#put(key, { count, resetAt });
  }

  async delete(key: string): Promise<void> {
    this.#entries.delete(key);
  }

  #live(key: string, now: number): { count: number; resetAt: number } | null {
    const entry = this.#entries.get(key);
    if (!entry) return null;
    if (entry.resetAt <= now) {
      this.#entries.delete(key);
      return null;
    }
    return entry;
  }

  #put(key: string, value: { count: number; resetAt: number }): void {
    this.#entries.delete(key);
    this.#entries.set(key, value);
    if (this.#entries.size > this.maxKeys) {
      const oldest = this.#entries.keys().next().value;
      if (oldest !== undefined) this.#entries.delete(oldest);
    }
  }
}
