import cluster from 'node:cluster';
import type { Worker } from 'node:cluster';
import { LocalRevocationBus } from './bus.js';
import type { RevocationBus, RevocationEvent } from './bus.js';

const MESSAGE = 'gatehouse:revocation';

interface Message {
  type: typeof MESSAGE;
  event: RevocationEvent;
}

function isMessage(message: unknown): message is Message {
  return typeof message === 'object' && message !== null && (message as { type?: unknown }).type === MESSAGE;
}

/** In a cluster primary without Redis: pass each worker's revocations on to every other worker. */
export function relayClusterRevocations(): void {
  cluster.on('message', (from: Worker, message: unknown) => {
    if (!isMessage(message)) return;
    for (const worker of Object.values(cluster.workers ?? {})) {
      if (worker && worker !== from && worker.isConnected()) worker.send(message);
    }
  });
}

/**
 * Revocations shared by the workers of one `gatehouse serve --workers N` through the primary
 * (relayClusterRevocations), so a logout on one worker empties every worker's cache at once.
 * Across machines use Redis (RedisRevocationBus) instead.
 */
export class ClusterRevocationBus implements RevocationBus {
  readonly #local = new LocalRevocationBus();
  readonly #onMessage = (message: unknown) => {
    if (isMessage(message)) void this.#local.publish(message.event);
  };

  constructor() {
    process.on('message', this.#onMessage);
  }

  async publish(event: RevocationEvent): Promise<void> {
    await this.#local.publish(event);
    if (process.send && process.connected) process.send({ type: MESSAGE, event } satisfies Message);
  }

  subscribe(listener: (event: RevocationEvent) => void): void {
    this.#local.subscribe(listener);
  }

  async close(): Promise<void> {
    process.off('message', this.#onMessage);
    await this.#local.close();
  }
}
