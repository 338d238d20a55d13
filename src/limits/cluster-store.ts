import cluster from 'node:cluster';
import type { Worker } from 'node:cluster';
import type { LimitStore } from './store.js';
import { MemoryLimitStore } from './store.js';

const REQUEST = 'gatehouse:limit';
const REPLY = 'gatehouse:limit-reply';
/** The primary answers in well under a millisecond; past this, the worker counts on its own. */
const REPLY_TIMEOUT_MS = 1_000;

type Operation =
  | { op: 'increment'; key: string; windowMs: number }
  | { op: 'get'; key: string }
  | { op: 'set'; key: string; count: number; resetAt: number }
  | { op: 'delete'; key: string };

type Entry = { count: number; resetAt: number } | null;

interface Request {
  type: typeof REQUEST;
  id: number;
  operation: Operation;
}

interface Reply {
  type: typeof REPLY;
  id: number;
  result: Entry;
}

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
    case 'get':
      return store.get(operation.key);
    case 'set':
      await store.set(operation.key, operation.count, operation.resetAt);
      return null;
    case 'delete':
      await store.delete(operation.key);
      return null;
  }
}

/**
 * In a cluster primary without Redis: keep every worker's rate-limit counters in one place, so
 * WORKERS=N on one machine limits exactly as one process does.
 */
export function hostClusterLimits(): void {
  const store = new MemoryLimitStore();
  cluster.on('message', (worker: Worker, message: unknown) => {
    if (!isRequest(message)) return;
    void apply(store, message.operation).then((result) => {
      if (worker.isConnected()) worker.send({ type: REPLY, id: message.id, result } satisfies Reply);
    });
  });
}

/**
 * A cluster worker's view of the primary's counters (see hostClusterLimits), over the cluster's
 * IPC channel. Should the primary not answer, the worker counts in its own memory for that call.
 */
export class ClusterLimitStore implements LimitStore {
  readonly #pending = new Map<number, (result: Entry) => void>();
  readonly #fallback = new MemoryLimitStore();
  #next = 0;

  constructor() {
    process.on('message', (message: unknown) => {
      if (!isReply(message)) return;
      this.#pending.get(message.id)?.(message.result);
    });
  }

  async increment(key: string, windowMs: number): Promise<{ count: number; resetAt: number }> {
    return (await this.#call({ op: 'increment', key, windowMs }, () => this.#fallback.increment(key, windowMs))) ?? this.#fallback.increment(key, windowMs);
  }

  async get(key: string): Promise<{ count: number; resetAt: number } | null> {
    return this.#call({ op: 'get', key }, () => this.#fallback.get(key));
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

  #call(operation: Operation, fallback: () => Promise<Entry>): Promise<Entry> {
    if (!process.send || !process.connected) return fallback();
    const id = (this.#next += 1);
    return new Promise<Entry>((resolve) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        fallback().then(resolve, () => resolve(null));
      }, REPLY_TIMEOUT_MS);
      timer.unref();
      this.#pending.set(id, (result) => {
        clearTimeout(timer);
        this.#pending.delete(id);
        resolve(result);
      });
      process.send?.({ type: REQUEST, id, operation } satisfies Request);
    });
  }
}
