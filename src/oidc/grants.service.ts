import { NotFoundError } from '../errors.js';
import type { Db } from '../storage/database.js';
import { isoNow } from '../storage/database.js';
import * as repo from './oidc-clients.repo.js';
import type { OidcConsentRecord } from './oidc-clients.repo.js';
import { deletePayloadsOf } from './oidc-payloads.repo.js';

/**
 * The apps a user let in (their consents), and taking that back: the app's grants, codes and
 * tokens end and the consent is forgotten, so the next sign-in asks again.
 */
export class OidcGrantService {
  constructor(private readonly deps: { db: Db; clock: () => number }) {}

  list(userId: number): Promise<OidcConsentRecord[]> {
    return repo.listConsents(this.deps.db, userId);
  }

  /** The scopes a user let an app see so far (none: never asked, or removed). */
  async allowedScopes(userId: number, clientId: string): Promise<string[]> {
    return (await repo.findConsent(this.deps.db, userId, clientId)) ?? [];
  }

  /** Add scopes to what the user let an app see (a consent page's "allow", or a first-party app's request). */
  async remember(userId: number, clientId: string, scopes: readonly string[]): Promise<void> {
    const stored = (await repo.findConsent(this.deps.db, userId, clientId)) ?? null;
    const merged = [...new Set([...(stored ?? []), ...scopes])];
    if (stored !== null && merged.length === stored.length) return;
    await repo.saveConsent(this.deps.db, userId, clientId, merged, isoNow(this.deps.clock));
  }

  /** Remove an app: 404 when the user never let it in and it holds nothing of theirs. */
  async revoke(userId: number, clientId: string): Promise<void> {
    const { consent, payloads } = await this.deps.db.transaction().execute(async (trx) => ({
      consent: await repo.deleteConsent(trx, userId, clientId),
      payloads: await deletePayloadsOf(trx, userId, clientId),
    }));
    if (!consent && payloads === 0) throw new NotFoundError();
  }
}
