import type { Db } from '../storage/database.js';

/** A registered app as stored; its secret only as a hash. */
export interface OidcClientRecord {
  clientId: string;
  clientName: string;
  secretHash: string | null;
  redirectUris: string[];
  postLogoutRedirectUris: string[];
  tokenEndpointAuthMethod: string;
  firstParty: boolean;
  createdAt: string;
}

/** An app a user let in, with what they let it see. */
export interface OidcConsentRecord {
  clientId: string;
  clientName: string;
  scopes: string[];
  createdAt: string;
}

const clientColumns = ['client_id', 'client_name', 'secret_hash', 'redirect_uris', 'post_logout_redirect_uris', 'token_endpoint_auth_method', 'first_party', 'created_at'] as const;

function toClient(row: {
  client_id: string;
  client_name: string;
  secret_hash: string | null;
  redirect_uris: string;
  post_logout_redirect_uris: string;
  token_endpoint_auth_method: string;
  first_party: boolean | number;
  created_at: string;
}): OidcClientRecord {
  return {
    clientId: row.client_id,
    clientName: row.client_name,
    secretHash: row.secret_hash,
    redirectUris: JSON.parse(row.redirect_uris) as string[],
    postLogoutRedirectUris: JSON.parse(row.post_logout_redirect_uris) as string[],
    tokenEndpointAuthMethod: row.token_endpoint_auth_method,
    firstParty: Boolean(row.first_party),
    createdAt: row.created_at,
  };
}

export async function insertClient(db: Db, client: OidcClientRecord): Promise<void> {
  await db
    .insertInto('oidc_clients')
    .values({
      client_id: client.clientId,
      client_name: client.clientName,
      secret_hash: client.secretHash,
      redirect_uris: JSON.stringify(client.redirectUris),
      post_logout_redirect_uris: JSON.stringify(client.postLogoutRedirectUris),
      token_endpoint_auth_method: client.tokenEndpointAuthMethod,
      first_party: client.firstParty,
      created_at: client.createdAt,
    })
    .execute();
}

export async function findClient(db: Db, clientId: string): Promise<OidcClientRecord | null> {
  const row = await db.selectFrom('oidc_clients').select(clientColumns).where('client_id', '=', clientId).executeTakeFirst();
  return row ? toClient(row) : null;
}

/** Oldest first, a page at a time. */
export async function listClients(db: Db, options: { limit: number; page: number }): Promise<{ items: OidcClientRecord[]; total: number }> {
  const rows = await db
    .selectFrom('oidc_clients')
    .select(clientColumns)
    .orderBy('created_at')
    .orderBy('client_id')
    .limit(options.limit)
    .offset((options.page - 1) * options.limit)
    .execute();
  const count = await db.selectFrom('oidc_clients').select((eb) => eb.fn.countAll().as('total')).executeTakeFirstOrThrow();
  return { items: rows.map(toClient), total: Number(count.total) };
}

/** Delete a client; its tokens, grants and consents go with it (foreign keys). */
export async function deleteClient(db: Db, clientId: string): Promise<boolean> {
  const result = await db.deleteFrom('oidc_clients').where('client_id', '=', clientId).executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}

export async function findConsent(db: Db, userId: number, clientId: string): Promise<string[] | null> {
  const row = await db.selectFrom('oidc_consents').select('scopes').where('user_id', '=', userId).where('client_id', '=', clientId).executeTakeFirst();
  return row ? row.scopes.split(' ').filter(Boolean) : null;
}

/**
 * Inside a transaction: make sure the user's consent row for an app exists (empty when new) and
 * hold its lock until the transaction ends, so concurrent changes to it run one after the other.
 * True when the row was created here (the user had not let the app in before).
 */
export async function lockConsent(trx: Db, userId: number, clientId: string, now: string): Promise<boolean> {
  const created = await trx
    .insertInto('oidc_consents')
    .values({ user_id: userId, client_id: clientId, scopes: '', created_at: now, updated_at: now })
    .onConflict((oc) => oc.columns(['user_id', 'client_id']).doNothing())
    .returning('user_id')
    .executeTakeFirst();
  if (created) return true;
  // A no-op update: on PostgreSQL it takes the row lock (SQLite runs one write transaction at a time).
  await trx
    .updateTable('oidc_consents')
    .set((eb) => ({ scopes: eb.ref('scopes') }))
    .where('user_id', '=', userId)
    .where('client_id', '=', clientId)
    .execute();
  return false;
}

/** Store the scopes a user let an app see (replacing what was stored); created_at stays the first consent's. */
export async function saveConsent(db: Db, userId: number, clientId: string, scopes: readonly string[], now: string): Promise<void> {
  const value = [...new Set(scopes)].join(' ');
  await db
    .insertInto('oidc_consents')
    .values({ user_id: userId, client_id: clientId, scopes: value, created_at: now, updated_at: now })
    .onConflict((oc) => oc.columns(['user_id', 'client_id']).doUpdateSet({ scopes: value, updated_at: now }))
    .execute();
}

/** The apps a user let in, oldest consent first. */
export async function listConsents(db: Db, userId: number): Promise<OidcConsentRecord[]> {
  const rows = await db
    .selectFrom('oidc_consents')
    .innerJoin('oidc_clients', 'oidc_clients.client_id', 'oidc_consents.client_id')
    .select(['oidc_consents.client_id', 'oidc_clients.client_name', 'oidc_consents.scopes', 'oidc_consents.created_at'])
    .where('oidc_consents.user_id', '=', userId)
    .orderBy('oidc_consents.created_at')
    .orderBy('oidc_consents.client_id')
    .execute();
  return rows.map((row) => ({ clientId: row.client_id, clientName: row.client_name, scopes: row.scopes.split(' ').filter(Boolean), createdAt: row.created_at }));
}

export async function deleteConsent(db: Db, userId: number, clientId: string): Promise<boolean> {
  const result = await db.deleteFrom('oidc_consents').where('user_id', '=', userId).where('client_id', '=', clientId).executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}
