import type { Config } from '../config.js';
import type { SessionService } from '../sessions/sessions.service.js';
import type { Db } from '../storage/database.js';
import { isoNow } from '../storage/database.js';
import type { KeyRing } from '../tokens/keys.js';
import { OidcClientService } from './clients.service.js';
import { OidcGrantService } from './grants.service.js';
import { deleteExpiredPayloads, unbindProviderSessions } from './oidc-payloads.repo.js';
import { OidcProviderHost } from './provider.js';
import type { OidcHttp, OidcLog } from './provider.js';

export interface OidcServiceDeps {
  db: Db;
  clock: () => number;
  config: Pick<Config, 'publicUrl' | 'accessTokenTtl' | 'refreshTokenTtl' | 'sessionMaxAge'>;
  /** A KeyRing of purpose `oidc`. */
  keys: KeyRing;
  sessions: Pick<SessionService, 'validate'>;
  log: OidcLog;
}

/**
 * Sign-in for other apps: the OpenID Connect provider (built on oidc-provider, see provider.ts),
 * the registered apps, and each user's authorised apps.
 */
export class OidcService {
  readonly host: OidcProviderHost;
  readonly clients: OidcClientService;
  readonly grants: OidcGrantService;

  constructor(private readonly deps: OidcServiceDeps) {
    this.grants = new OidcGrantService({ db: deps.db, clock: deps.clock });
    this.host = new OidcProviderHost({ ...deps, rememberConsent: (userId, clientId, scopes, meta) => this.grants.remember(userId, clientId, scopes, meta) });
    this.clients = new OidcClientService({ db: deps.db, clock: deps.clock, host: this.host });
  }

  /** Serve the provider over HTTP: the server's routes give it its pages and the Gatehouse cookies it reads. */
  serveOver(http: OidcHttp): void {
    this.host.serveOver(http);
  }

  /** Make the first ID token key if needed (a serving process, at start; else on first use). */
  init(): Promise<void> {
    return this.host.initKeys();
  }

  /**
   * Before an RP-initiated logout ends the Gatehouse session: the provider's session must outlive
   * it for the moment the provider's own logout confirmation (which ends it) needs to read it.
   */
  releaseProviderSessions(gatehouseSessionId: string): Promise<void> {
    return unbindProviderSessions(this.deps.db, gatehouseSessionId);
  }

  /** The housekeeping sweep of what the provider stored and no longer reads (expired codes, tokens, sessions, …). */
  deleteExpired(): Promise<number> {
    return deleteExpiredPayloads(this.deps.db, isoNow(this.deps.clock));
  }
}
