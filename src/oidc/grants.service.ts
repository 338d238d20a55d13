import { recordAudit } from '../audit/audit.repo.js';
import type { RequestMeta } from '../audit/request-meta.js';
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

  /**
   * Add scopes to what the user let an app see (a consent page's "allow", or a first-party app's
   * request); audited when that adds anything, with what was added.
   */
  async remember(userId: number, clientId: string, scopes: readonly string[], meta: RequestMeta): Promise<void> {
    const now = isoNow(this.deps.clock);
    // Read, merge and write under the consent row's lock: two consents given at once (two tabs
    // asking for different scopes) both count, and each is audited with what it added.
    await this.deps.db.transaction().execute(async (trx) => {
      const created = await repo.lockConsent(trx, userId, clientId, now);
      const stored = (await repo.findConsent(trx, userId, clientId)) ?? [];
      const added = [...new Set(scopes)].filter((scope) => !stored.includes(scope));
      if (!created && added.length === 0) return;
      await repo.saveConsent(trx, userId, clientId, [...stored, ...added], now);
      await recordAudit(trx, { event: 'oidc_consent_given', userId, detail: { client_id: clientId, scopes: added.join(' ') }, ...meta }, now);
    });
  }

  /** Remove an app: 404 when the user never let it in and it holds nothing of theirs. */
  async revoke(userId: number, clientId: string, meta: RequestMeta): Promise<void> {
    const { consent, payloads } = await this.deps.db.transaction().execute(async (trx) => ({
      consent: await repo.deleteConsent(trx, userId, clientId),
      payloads: await deletePayloadsOf(trx, userId, clientId),
    }));
    if (!consent && payloads === 0) throw new NotFoundError();
    await recordAudit(this.deps.db, { event: 'oidc_grant_revoked', userId, detail: { client_id: clientId }, ...meta }, isoNow(this.deps.clock));
  }
}
