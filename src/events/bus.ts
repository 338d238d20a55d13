/**
 * What one instance tells the others so their caches drop revoked credentials at once.
 * Without Redis only this process listens; with it, every instance does.
 */
export type RevocationEvent =
  | { kind: 'user'; userId: number }
  | { kind: 'session'; tokenHash: string }
  | { kind: 'family'; familyId: string };

export interface RevocationBus {
  publish(event: RevocationEvent): Promise<void>;
  subscribe(listener: (event: RevocationEvent) => void): void;
  close(): Promise<void>;
}

export class LocalRevocationBus implements RevocationBus {
  readonly #listeners: Array<(event: RevocationEvent) => void> = [];

  async publish(event: RevocationEvent): Promise<void> {
    for (const listener of this.#listeners) listener(event);
  }

  subscribe(listener: (event: RevocationEvent) => void): void {
    this.#listeners.push(listener);
  }

  async close(): Promise<void> {}
}
