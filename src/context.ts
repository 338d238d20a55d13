import type { FastifyBaseLogger } from 'fastify';
import type { PasswordHasher } from './accounts/password.js';
import type { Config } from './config.js';
import type { RevocationBus } from './events.js';
import type { LimitStore } from './limits/store.js';
import type { LoginThrottle } from './limits/login-throttle.js';
import type { SessionService } from './sessions/sessions.service.js';
import type { Db, Storage } from './storage/database.js';
import type { TokenService } from './tokens/tokens.service.js';

/** Everything the domain services need, built once per app. */
export interface AppContext {
  config: Readonly<Config>;
  storage: Storage;
  db: Db;
  /** Milliseconds since the epoch; tests inject a fake to move time without sleeping. */
  clock: () => number;
  hasher: PasswordHasher;
  limitStore: LimitStore;
  loginThrottle: LoginThrottle;
  bus: RevocationBus;
  sessions: SessionService;
  tokens: TokenService;
  log: FastifyBaseLogger;
}

/** Who made a request, for audit rows and session records. */
export interface RequestMeta {
  ip: string | null;
  userAgent: string | null;
}
