import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { LocalRevocationBus } from './bus.js';
import type { RevocationBus, RevocationEvent } from './bus.js';

export interface BusLog {
  warn(details: object, message: string): void;
  info(details: object, message: string): void;
}

interface Envelope {
  from: string;
  event: RevocationEvent;
}

function parseEnvelope(message: string): Envelope | null {
  try {
    const value = JSON.parse(message) as { from?: unknown; event?: { kind?: unknown; userId?: unknown; tokenHash?: unknown; familyId?: unknown } };
    const event = value.event;
    if (typeof value.from !== 'string' || !event) return null;
    if (event.kind === 'user' && typeof event.userId === 'number') return { from: value.from, event: { kind: 'user', userId: event.userId } };
    if (event.kind === 'session' && typeof event.tokenHash === 'string') return { from: value.from, event: { kind: 'session', tokenHash: event.tokenHash } };
    if (event.kind === 'family' && typeof event.familyId === 'string') return { from: value.from, event: { kind: 'family', familyId: event.familyId } };
    return null;
  } catch {
    return null;
  }
}

/**
 * Revocations broadcast to every instance over Redis pub/sub, so each drops the sessions and
 * login states it caches the moment any instance logs a user out, disables them or revokes a
 * login. Local listeners always hear an event at once, before it goes to Redis.
 *
 * Redis down: the event stays local (a warning is logged); other instances then notice within
 * their cache lifetime (SESSION_CACHE_TTL_MS, LOGIN_STATE_TTL_MS: 1 s), the documented bound.
 * Events carry only a user id, a session token's SHA-256 or a login id: nothing secret.
 */
export class RedisRevocationBus implements RevocationBus {
  readonly #local = new LocalRevocationBus();
  readonly #instance = randomUUID();
  readonly #subscriber: Redis;
  #lastWarning = 0;
  #warned = false;
  #subscribed = false;
  readonly #onSubscribed: Array<() => void> = [];

  /** @param publisher a connected client; the bus opens its own second connection for SUBSCRIBE. */
  constructor(
    private readonly publisher: Redis,
    private readonly channel: string,
    private readonly log: BusLog,
  ) {
    // A subscribed connection can do nothing else. It subscribes on every (re)connection itself:
    // a SUBSCRIBE queued while Redis is down would be dropped after a few retries, and the
    // instance would never hear another one.
    this.#subscriber = publisher.duplicate({ enableOfflineQueue: false, autoResubscribe: false, commandTimeout: undefined, lazyConnect: false });
    this.#subscriber.on('error', (error: Error) => this.#warn(error, 'Redis subscriber connection failed; revocations from other instances arrive within the 1 s cache bound'));
    this.#subscriber.on('ready', () => {
      this.#subscriber.subscribe(this.channel).then(
        () => {
          this.#subscribed = true;
          for (const resolve of this.#onSubscribed.splice(0)) resolve();
          if (!this.#warned) return;
          this.#warned = false;
          this.log.info({}, 'Redis subscriber connected again: revocations from other instances arrive at once again');
        },
        (error: unknown) => this.#warn(error, 'could not subscribe to the revocation channel'),
      );
    });
    this.#subscriber.on('message', (channel: string, message: string) => {
      if (channel !== this.channel) return;
      const envelope = parseEnvelope(message);
      if (!envelope || envelope.from === this.#instance) return;
      void this.#local.publish(envelope.event);
    });
  }

  /** Resolves once this instance listens on the channel, or after `timeoutMs` (Redis down: it subscribes when Redis is back). */
  async whenSubscribed(timeoutMs: number): Promise<void> {
    if (this.#subscribed) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.#onSubscribed.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  async publish(event: RevocationEvent): Promise<void> {
    await this.#local.publish(event);
    try {
      await this.publisher.publish(this.channel, JSON.stringify({ from: this.#instance, event } satisfies Envelope));
    } catch (error) {
      this.#warn(error, 'Redis unavailable: a revocation reached this instance only; others notice within the 1 s cache bound');
    }
  }

  subscribe(listener: (event: RevocationEvent) => void): void {
    this.#local.subscribe(listener);
  }

  async close(): Promise<void> {
    this.#subscriber.disconnect();
    await this.#local.close();
  }

  #warn(error: unknown, message: string): void {
    this.#warned = true;
    const now = Date.now();
    if (now - this.#lastWarning < 60_000) return;
    this.#lastWarning = now;
    this.log.warn({ err: error }, message);
  }
}
