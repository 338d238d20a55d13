import { RateLimitedError } from '../errors.js';
import type { LimitStore } from './store.js';

const MAX_BLOCK_MS = 24 * 3600 * 1000;
const STRIKE_MEMORY_MS = 24 * 3600 * 1000;

/**
 * Failed logins per account. After `limit` failures inside `windowMs` the account answers 429
 * for a block that doubles with each repeat (window, 2×, 4×… up to a day), so a guesser slows
 * to a crawl while the owner is only ever locked out for a bounded, stated time.
 * Keys are whatever the caller names (an account id, or the typed name when no account exists),
 * so unknown usernames are throttled exactly like real ones.
 */
export class LoginThrottle {
  constructor(
    private readonly store: LimitStore,
    private readonly limit: number,
    private readonly windowMs: number,
    private readonly enabled: boolean,
    private readonly clock: () => number = Date.now,
  ) {}

  /** Throws RateLimitedError while the account is blocked. */
  async assertAllowed(key: string): Promise<void> {
    if (!this.enabled) return;
    const block = await this.store.get(`login:block:${key}`);
    if (block) throw new RateLimitedError(Math.max(1, Math.ceil((block.resetAt - this.clock()) / 1000)));
  }

  async recordFailure(key: string): Promise<void> {
    if (!this.enabled) return;
    const failures = await this.store.increment(`login:fail:${key}`, this.windowMs);
    if (failures.count < this.limit) return;
    const strikes = await this.store.increment(`login:strikes:${key}`, STRIKE_MEMORY_MS);
    const blockMs = Math.min(this.windowMs * 2 ** (strikes.count - 1), MAX_BLOCK_MS);
    await this.store.set(`login:block:${key}`, 1, this.clock() + blockMs);
    await this.store.delete(`login:fail:${key}`);
  }

  async recordSuccess(key: string): Promise<void> {
    if (!this.enabled) return;
    await this.store.delete(`login:fail:${key}`);
    await this.store.delete(`login:strikes:${key}`);
  }
}
