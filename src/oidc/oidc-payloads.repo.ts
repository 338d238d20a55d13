import type { Adapter, AdapterPayload } from 'oidc-provider';
import type { Db } from '../storage/database.js';
import type { OidcClientRecord } from './oidc-clients.repo.js';
import { findClient } from './oidc-clients.repo.js';

/** A user id as the provider spells it (`accountId`), or null for anything that is not one. */
function userIdOf(accountId: unknown): number | null {
  return typeof accountId === 'string' && /^[1-9][0-9]{0,9}$/.test(accountId) ? Number(accountId) : null;
}

function text(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

/**
 * A registered client as the provider reads it: exact redirect URIs, the code flow (and refresh
 * tokens) only, ID tokens signed RS256. A confidential client's `client_secret` is the SHA-256 of
 * the real one; `compareClientSecret` (provider.ts) hashes what the client sends before comparing.
 */
export function providerClientMetadata(client: OidcClientRecord): AdapterPayload {
  return {
    client_id: client.clientId,
    client_name: client.clientName,
    ...(client.secretHash !== null ? { client_secret: client.secretHash } : {}),
    redirect_uris: client.redirectUris,
    post_logout_redirect_uris: client.postLogoutRedirectUris,
    token_endpoint_auth_method: client.tokenEndpointAuthMethod,
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    id_token_signed_response_alg: 'RS256',
    first_party: client.firstParty,
  };
}

/**
 * oidc-provider's storage on Kysely (its adapter interface: example/my_adapter.js), one instance
 * per model. Everything but clients lives in `oidc_payloads`: a true upsert on (model, id), reads
 * that never return an expired row, `consume` that marks a row used exactly once (the second
 * use of a code or refresh token revokes its grant and fails, even when two uses race), and
 * `revokeByGrantId`. Clients are read from `oidc_clients`, which the admin API manages.
 *
 * @example new OidcStorageAdapter('RefreshToken', db, Date.now)
 */
export class OidcStorageAdapter implements Adapter {
  constructor(
    readonly model: string,
    private readonly db: Db,
    private readonly clock: () => number,
  ) {}

  #iso(offsetMs = 0): string {
    return new Date(this.clock() + offsetMs).toISOString();
  }

  #refuseClientWrites(): never {
    throw new Error('oidc-provider clients are managed by the admin API and the CLI, not stored by the provider');
  }

  async upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void> {
    if (this.model === 'Client') this.#refuseClientWrites();
    const { consumed, ...stored } = payload;
    const row = {
      payload: JSON.stringify(stored),
      grant_id: text(payload.grantId),
      uid: text(payload.uid),
      user_code: text(payload.userCode),
      account_id: userIdOf(payload.accountId),
      client_id: text(payload.clientId),
      expires_at: expiresIn ? this.#iso(expiresIn * 1000) : null,
    };
    await this.db
      .insertInto('oidc_payloads')
      .values({ model: this.model, id, ...row, created_at: this.#iso(), consumed_at: consumed ? this.#iso() : null, gatehouse_session_id: null })
      // A used token stays used, and a provider session keeps the Gatehouse session it stands for.
      .onConflict((oc) => oc.columns(['model', 'id']).doUpdateSet(row))
      .execute();
  }

  async find(id: string): Promise<AdapterPayload | undefined> {
    if (this.model === 'Client') {
      const client = await findClient(this.db, id);
      return client ? providerClientMetadata(client) : undefined;
    }
    return this.#findBy('id', id);
  }

  async findByUid(uid: string): Promise<AdapterPayload | undefined> {
    return this.#findBy('uid', uid);
  }

  async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
    return this.#findBy('user_code', userCode);
  }

  async #findBy(column: 'id' | 'uid' | 'user_code', value: string): Promise<AdapterPayload | undefined> {
    const now = this.#iso();
    const row = await this.db
      .selectFrom('oidc_payloads')
      .select(['payload', 'consumed_at'])
      .where('model', '=', this.model)
      .where(column, '=', value)
      .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]))
      .executeTakeFirst();
    if (!row) return undefined;
    const payload = JSON.parse(row.payload) as AdapterPayload;
    return row.consumed_at === null ? payload : { ...payload, consumed: Math.floor(Date.parse(row.consumed_at) / 1000) };
  }

  /**
   * Mark a code or token used. Only one call can: the loser of two concurrent uses (or a use of a
   * row gone meanwhile) finds nothing to mark, revokes the grant and fails with `invalid_grant`,
   * as the provider does itself for a second, sequential use.
   */
  async consume(id: string): Promise<void> {
    const result = await this.db
      .updateTable('oidc_payloads')
      .set({ consumed_at: this.#iso() })
      .where('model', '=', this.model)
      .where('id', '=', id)
      .where('consumed_at', 'is', null)
      .executeTakeFirst();
    if (Number(result.numUpdatedRows) === 1) return;
    const row = await this.db.selectFrom('oidc_payloads').select('grant_id').where('model', '=', this.model).where('id', '=', id).executeTakeFirst();
    if (row?.grant_id) await revokeGrant(this.db, row.grant_id);
    // Loaded already: only a running provider consumes.
    const { errors } = await import('oidc-provider');
    throw new errors.InvalidGrant(`${this.model === 'RefreshToken' ? 'refresh token' : 'grant'} already used`);
  }

  async destroy(id: string): Promise<void> {
    if (this.model === 'Client') this.#refuseClientWrites();
    await this.db.deleteFrom('oidc_payloads').where('model', '=', this.model).where('id', '=', id).execute();
  }

  async revokeByGrantId(grantId: string): Promise<void> {
    await this.db.deleteFrom('oidc_payloads').where('model', '=', this.model).where('grant_id', '=', grantId).execute();
  }
}

/** End a grant: the grant itself and every code and token issued under it. */
export async function revokeGrant(db: Db, grantId: string): Promise<void> {
  await db
    .deleteFrom('oidc_payloads')
    .where((eb) => eb.or([eb('grant_id', '=', grantId), eb.and([eb('model', '=', 'Grant'), eb('id', '=', grantId)])]))
    .execute();
}

/** Everything the provider stored for one user and one client: their grants, codes and tokens. */
export async function deletePayloadsOf(db: Db, userId: number, clientId: string): Promise<number> {
  const result = await db.deleteFrom('oidc_payloads').where('account_id', '=', userId).where('client_id', '=', clientId).executeTakeFirst();
  return Number(result.numDeletedRows);
}

/** The housekeeping sweep: rows past their expiry (never read anyway). */
export async function deleteExpiredPayloads(db: Db, now: string): Promise<number> {
  const result = await db.deleteFrom('oidc_payloads').where('expires_at', '<=', now).executeTakeFirst();
  return Number(result.numDeletedRows);
}

/**
 * Tie a provider session to the Gatehouse session it stands for: when that session ends (logout,
 * expiry sweep, revocation, disable), the database deletes the provider session, and the tokens
 * bound to it stop working.
 */
export async function bindProviderSession(db: Db, providerSessionId: string, gatehouseSessionId: string): Promise<void> {
  await db
    .updateTable('oidc_payloads')
    .set({ gatehouse_session_id: gatehouseSessionId })
    .where('model', '=', 'Session')
    .where('id', '=', providerSessionId)
    .where((eb) => eb.or([eb('gatehouse_session_id', 'is', null), eb('gatehouse_session_id', '<>', gatehouseSessionId)]))
    .execute();
}

/** Untie provider sessions from a Gatehouse session about to end, so they outlive it (an RP-initiated logout ends them itself). */
export async function unbindProviderSessions(db: Db, gatehouseSessionId: string): Promise<void> {
  await db.updateTable('oidc_payloads').set({ gatehouse_session_id: null }).where('gatehouse_session_id', '=', gatehouseSessionId).execute();
}
