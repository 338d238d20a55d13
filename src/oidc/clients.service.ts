import { randomBytes } from 'node:crypto';
import { recordAudit } from '../audit/audit.repo.js';
import type { RequestMeta } from '../audit/request-meta.js';
import { NotFoundError, ValidationError } from '../errors.js';
import { randomToken, sha256Hex } from '../sessions/tokens.js';
import type { Db } from '../storage/database.js';
import { isoNow } from '../storage/database.js';
import * as repo from './oidc-clients.repo.js';
import type { OidcClientRecord } from './oidc-clients.repo.js';
import { providerClientMetadata } from './oidc-payloads.repo.js';
import { oidcProviderLibrary } from './provider.js';
import type { OidcProviderHost } from './provider.js';

export type TokenEndpointAuthMethod = 'client_secret_basic' | 'client_secret_post' | 'none';

export interface NewClientInput {
  clientName: string;
  redirectUris: readonly string[];
  postLogoutRedirectUris?: readonly string[] | undefined;
  /** `client_secret_basic` by default; `none` makes a public client (a browser app or a CLI, with PKCE). */
  tokenEndpointAuthMethod?: TokenEndpointAuthMethod | undefined;
  /** Gatehouse's own app: its users are never asked for consent. */
  firstParty?: boolean | undefined;
}

/** Who registers or deletes an app, for the audit row: an admin over HTTP, or the operator's CLI (no id). */
export interface ClientActor {
  adminId: number | null;
  meta: RequestMeta;
}

/** A client just made: the one time its secret is known (null for a public client). */
export interface CreatedClient {
  client: OidcClientRecord;
  clientSecret: string | null;
}

/** The metadata names a provider validation message may start with, so it lands on the right field. */
const FIELDS = ['post_logout_redirect_uris', 'redirect_uris', 'token_endpoint_auth_method', 'client_name'] as const;

/**
 * The apps registered with the OpenID Connect provider: made by an admin (API or CLI), listed,
 * deleted. Each is checked by the provider's own client validation before it is stored; a secret
 * is 256 random bits, shown once and stored as its SHA-256.
 */
export class OidcClientService {
  constructor(private readonly deps: { db: Db; clock: () => number; host: Pick<OidcProviderHost, 'provider'> }) {}

  /**
   * @example await clients.create({ clientName: 'Grafana', redirectUris: ['https://grafana.example.com/login/generic_oauth'] }, { adminId: admin.id, meta })
   */
  async create(input: NewClientInput, actor: ClientActor): Promise<CreatedClient> {
    const method = input.tokenEndpointAuthMethod ?? 'client_secret_basic';
    const clientSecret = method === 'none' ? null : randomToken();
    const client: OidcClientRecord = {
      clientId: randomBytes(16).toString('base64url'),
      clientName: input.clientName.trim(),
      secretHash: clientSecret === null ? null : sha256Hex(clientSecret),
      redirectUris: [...input.redirectUris],
      postLogoutRedirectUris: [...(input.postLogoutRedirectUris ?? [])],
      tokenEndpointAuthMethod: method,
      firstParty: input.firstParty ?? false,
      createdAt: isoNow(this.deps.clock),
    };
    if (client.clientName === '') throw new ValidationError({ client_name: 'Give the app a name.' });
    await this.#validate(client);
    await repo.insertClient(this.deps.db, client);
    await recordAudit(this.deps.db, { event: 'oidc_client_created', actorId: actor.adminId, detail: { client_id: client.clientId, client_name: client.clientName, first_party: client.firstParty }, ...actor.meta }, client.createdAt);
    return { client, clientSecret };
  }

  async #validate(client: OidcClientRecord): Promise<void> {
    const provider = await this.deps.host.provider();
    try {
      await provider.Client.validate(providerClientMetadata(client));
    } catch (error) {
      const { errors } = await oidcProviderLibrary();
      if (!(error instanceof errors.OIDCProviderError)) throw error;
      const description = error.error_description ?? error.message;
      const field = FIELDS.find((name) => description.startsWith(name)) ?? 'redirect_uris';
      throw new ValidationError({ [field]: `${description.charAt(0).toUpperCase()}${description.slice(1)}.` });
    }
  }

  async list(options: { limit: number; page: number }): Promise<{ items: OidcClientRecord[]; total: number; page: number; limit: number }> {
    return { ...(await repo.listClients(this.deps.db, options)), ...options };
  }

  async find(clientId: string): Promise<OidcClientRecord | null> {
    return repo.findClient(this.deps.db, clientId);
  }

  /** Delete a client: its grants, codes, tokens and consents end with it. */
  async delete(clientId: string, actor: ClientActor): Promise<void> {
    const client = await repo.findClient(this.deps.db, clientId);
    if (!client || !(await repo.deleteClient(this.deps.db, clientId))) throw new NotFoundError();
    await recordAudit(this.deps.db, { event: 'oidc_client_deleted', actorId: actor.adminId, detail: { client_id: clientId, client_name: client.clientName }, ...actor.meta }, isoNow(this.deps.clock));
  }
}
