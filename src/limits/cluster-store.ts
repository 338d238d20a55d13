import cluster from 'node:cluster';
import type { Worker } from 'node:cluster';
import { OverloadedError } from '../errors.js';
import type { Counter, LimitStore, SlidingCount } from './store.js';
import { MemoryLimitStore } from './store.js';

const REQUEST = 'gatehouse:limit';
const REPLY = 'gatehouse:limit-reply';
/** The primary answers in well under a millisecond; past this, the worker counts on its own. */
const REPLY_TIMEOUT_MS = 1_000;

type Operation =
  | { op: 'increment'; key: string; windowMs: number }
  | { op: 'decrement'; key: string }
  | { op: 'get'; key: string }
  | { op: 'set'; key: string; count: number; resetAt: number }
  | { op: 'delete'; key: string }
  | { op: 'slidingAdd'; key: string; windowMs: number; limit: number };

type Entry = Counter | SlidingCount | null;

// A reply's shape follows its operation; these guards let the types say so without a cast.
function isSlidingCount(entry: Entry | undefined): entry is SlidingCount {
  return typeof entry === 'object' && entry !== null && 'allowed' in entry;
}

function isCounter(entry: Entry | undefined): entry is Counter {
  return typeof entry === 'object' && entry !== null && 'resetAt' in entry;
}

interface Request {
  type: typeof REQUEST;
  id: number;
  operation: Operation;
}

/** `overloaded`: the primary's store refused (a full budget); the worker raises it as its own store would. */
type Reply = { type: typeof REPLY; id: number; result: Entry } | { type: typeof REPLY; id: number; overloaded: { retryAfterSeconds: number } };

function isRequest(message: unknown): message is Request {
  return typeof message === 'object' && message !== null && (message as { type?: unknown }).type === REQUEST;
}

function isReply(message: unknown): message is Reply {
  return typeof message === 'object' && message !== null && (message as { type?: unknown }).type === REPLY;
}

async function apply(store: LimitStore, operation: Operation): Promise<Entry> {
  switch (operation.op) {
    case 'increment':
      return store.increment(operation.key, operation.windowMs);
    case 'decrement':
      await store.decrement(operation.key);
      return null;
    case 'get':
      return store.get(operation.key);
    case 'set':
      await store.set(operation.key, operation.count, operation.resetAt);
      return null;
    case 'delete':
      await store.delete(operation.key);
      return null;
    case 'slidingAdd':
      return store.slidingAdd(operation.key, operation.windowMs, operation.limit);
  }
}

function replyTo(id: number, outcome: PromiseSettledResult<Entry>): Reply {
  if (outcome.status === 'fulfilled') return { type: REPLY, id, result: outcome.value };
  // The memory store refuses only with OverloadedError; anything else is a bug, and still a refusal.
  const retryAfterSeconds = outcome.reason instanceof OverloadedError ? outcome.reason.retryAfterSeconds : 1;
  return { type: REPLY, id, overloaded: { retryAfterSeconds } };
}

/**
 * In a cluster primary without Redis: keep every worker's rate-limit counters in one place, so
 * WORKERS=N on one machine limits exactly as one process does. Each operation runs to completion
 * on the primary's single thread, so an increment is atomic across workers.
 */
export function hostClusterLimits(maxKeys?: number): void {
  const store = new MemoryLimitStore(Date.now, maxKeys);
  cluster.on('message', (worker: Worker, message: unknown) => {
    if (!isRequest(message)) return;
    void Promise.allSettled([apply(store, message.operation)]).then(([outcome]) => {
      if (outcome && worker.isConnected()) worker.send(replyTo(message.id, outcome));
    });
  });
}

/**
 * A cluster worker's view of the primary's counters (see hostClusterLimits), over the cluster's
 * IPC channel. Should the primary not answer, the worker counts in its own memory for that call.
 */
export class ClusterLimitStore implements LimitStore {
  readonly #pending = new Map<number, (reply: Reply) => void>();
  readonly #fallback: MemoryLimitStore;
  #next = 0;

  /** `maxKeys`: the budget of the worker's own counters, used only while the primary does not answer. */
  constructor(maxKeys?: number) {
    this.#fallback = new MemoryLimitStore(Date.now, maxKeys);
    process.on('message', (message: unknown) => {
      if (!isReply(message)) return;
      this.#pending.get(message.id)?.(message);
    });
  }

  async increment(key: string, windowMs: number): Promise<Counter> {
    const entry = await this.#call({ op: 'increment', key, windowMs }, () => this.#fallback.increment(key, windowMs));
    return isCounter(entry) ? entry : this.#fallback.increment(key, windowMs);
  }

  async decrement(key: string): Promise<void> {
    await this.#call({ op: 'decrement', key }, async () => {
      await this.#fallback.decrement(key);
      return null;
    });
  }

  async get(key: string): Promise<Counter | null> {
    const entry = await this.#call({ op: 'get', key }, () => this.#fallback.get(key));
    return isCounter(entry) ? entry : null;
  }

  async set(key: string, count: number, resetAt: number): Promise<void> {
    await this.#call({ op: 'set', key, count, resetAt }, async () => {
      await this.#fallback.set(key, count, resetAt);
      return null;
    });
  }

  async delete(key: string): Promise<void> {
    await this.#call({ op: 'delete', key }, async () => {
      await this.#fallback.delete(key);
      return null;
    });
  }

  async slidingAdd(key: string, windowMs: number, limit: number): Promise<SlidingCount> {
    const entry = await this.#call({ op: 'slidingAdd', key, windowMs, limit }, () => this.#fallback.slidingAdd(key, windowMs, limit));
    return isSlidingCount(entry) ? entry : this.#fallback.slidingAdd(key, windowMs, limit);
  }

  #call(operation: Operation, fallback: () => Promise<Entry>): Promise<Entry> {
    if (!process.send || !process.connected) return fallback();
    const id = (this.#next += 1);
    return new Promise<Entry>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        fallback().then(resolve, reject);
      }, REPLY_TIMEOUT_MS);
      timer.unref();
      this.#pending.set(id, (reply) => {
        clearTimeout(timer);
        this.#pending.delete(id);
        if ('overloaded' in reply) reject(new OverloadedError(reply.overloaded.retryAfterSeconds));
        else resolve(reply.result);
      });
      process.send?.({ type: REQUEST, id, operation } satisfies Request);
    });
  }
}
