import type { Redis } from 'ioredis';
import { AccountService } from './accounts/accounts.service.js';
import { EmailLinks } from './accounts/email-links.js';
import { EmailService } from './accounts/email.service.js';
import { LoginService } from './accounts/login.service.js';
import { PasswordHasher } from './accounts/password.js';
import { PasswordResetService } from './accounts/password-reset.service.js';
import { RecentAuthService } from './accounts/recent-auth.service.js';
import { AdminService } from './admin/admin.service.js';
import { BucketlistService } from './bucketlists/bucketlists.service.js';
import type { Config } from './config.js';
import { LocalRevocationBus } from './events/bus.js';
import type { RevocationBus } from './events/bus.js';
import { RedisRevocationBus } from './events/redis-bus.js';
import { AttemptThrottle, LoginThrottle } from './limits/login-throttle.js';
import { RedisLimitStore } from './limits/redis-store.js';
import { MemoryLimitStore } from './limits/store.js';
import type { LimitStore } from './limits/store.js';
import { Mailer } from './mail/mailer.js';
import { MfaService } from './mfa/mfa.service.js';
import { OidcService } from './oidc/oidc.service.js';
import { PasskeyService } from './passkeys/passkeys.service.js';
import { createMailTransport } from './mail/transport.js';
import type { MailTransport } from './mail/transport.js';
import { SessionService } from './sessions/sessions.service.js';
import { UserSessionsService } from './sessions/user-sessions.service.js';
import { createStorage } from './storage/database.js';
import type { Db, Storage } from './storage/database.js';
import { migrateToLatest } from './storage/migrate.js';
import { KeyRing, KeyVault } from './tokens/keys.js';
import { TokenService } from './tokens/tokens.service.js';

/** What the services log: warnings about degraded dependencies, one-off notices at start. */
export interface ServiceLog {
  info(details: object, message: string): void;
  warn(details: object, message: string): void;
}

/**
 * Every service of one process, built once from the config and an open database. The HTTP server,
 * the CLI and the tests all get theirs from `createServices`; nothing else constructs a service.
 */
export interface Services {
  config: Readonly<Config>;
  /** Milliseconds since the epoch; tests inject a fake to move time without sleeping. */
  clock: () => number;
  storage: Storage;
  /** The storage's query builder, for the few callers that read a table directly (metrics, tests). */
  db: Db;
  hasher: PasswordHasher;
  limitStore: LimitStore;
  bus: RevocationBus;
  keys: KeyRing;
  sessions: SessionService;
  /** The sessions list: a user's browser sessions and token logins, and ending them. */
  userSessions: UserSessionsService;
  /** Recent authentication: REAUTH_MAX_AGE, re-authentication and the check of *recent* routes. */
  recentAuth: RecentAuthService;
  tokens: TokenService;
  accounts: AccountService;
  /** The account's address: verification links, changing and removing it. */
  email: EmailService;
  /** Forgot password (answered before any lookup) and reset. */
  passwordReset: PasswordResetService;
  /** The mailed links' tokens (the sweep deletes expired ones). */
  emailLinks: EmailLinks;
  logins: LoginService;
  /** TOTP, recovery codes and the login's second step. */
  mfa: MfaService;
  /** Passkeys (WebAuthn): registration, management, sign-in and re-authentication. */
  passkeys: PasskeyService;
  bucketlists: BucketlistService;
  admin: AdminService;
  /** Sign-in for other apps: the OpenID Connect provider, its clients, users' authorised apps (used only with OIDC_ENABLED). */
  oidc: OidcService;
  /** Mail: links (capped per address) and notices, sent after the answer from a bounded queue. */
  mailer: Mailer;
  /**
   * Stops the services' own resources (hash threads, the bus, the mail queue: mails waiting for a
   * first attempt or a retry are dropped); the storage and Redis belong to the caller.
   */
  close(): Promise<void>;
}

export interface ServiceDependencies {
  storage: Storage;
  log: ServiceLog;
  clock?: () => number;
  /**
   * REDIS_URL's client (the caller creates and closes it). With it, and unless limitStore/bus are
   * given, rate limits are counted in Redis and revocations broadcast to every instance.
   */
  redis?: Redis;
  limitStore?: LimitStore;
  bus?: RevocationBus;
  /** Where mail goes; by default SMTP_URL's server, or .eml files in MAIL_DIR without it. */
  mailTransport?: MailTransport;
}

/**
 * The composition root.
 *
 * @example const services = createServices(config, { storage: await openStorage(config), log: console });
 */
export function createServices(config: Readonly<Config>, deps: ServiceDependencies): Services {
  const clock = deps.clock ?? Date.now;
  const { storage, redis, log } = deps;
  const db = storage.db;
  const bus = deps.bus ?? (redis ? new RedisRevocationBus(redis, `${config.redisPrefix}revocations`, log) : new LocalRevocationBus());
  const limitStore =
    deps.limitStore ?? (redis ? new RedisLimitStore(redis, `${config.redisPrefix}limit:`, log, clock, config.limitStoreMaxKeys) : new MemoryLimitStore(clock, config.limitStoreMaxKeys));
  const hasher = new PasswordHasher(config.bcryptCost, config.hashConcurrency, config.hashQueueMax, config.hashNiceness);
  const keys = new KeyRing(db, new KeyVault(config.keyEncryptionSecret), clock, log);
  const sessions = new SessionService(db, config, clock, bus);
  const tokens = new TokenService(db, config, clock, keys, bus);
  const userSessions = new UserSessionsService({ db, clock, bus, sessions });
  const mailer = new Mailer({
    transport: deps.mailTransport ?? createMailTransport(config),
    from: config.mailFrom,
    publicUrl: config.publicUrl,
    limitStore,
    linkMailsPerHour: config.emailsPerAddressPerHour,
    log,
    clock,
  });
  const accounts = new AccountService({ db, clock, hasher, sessions, tokens, userSessions, bus, notices: mailer });
  const emailLinks = new EmailLinks({ db, clock, mailer, verifyTtlSeconds: config.emailTokenTtl, resetTtlSeconds: config.passwordResetTtl });
  const email = new EmailService({ db, clock, links: emailLinks, notices: mailer, bus, requireVerification: config.requireEmailVerification });
  const mfa = new MfaService({
    db,
    clock,
    vault: new KeyVault(config.keyEncryptionSecret, 'totp-secret-encryption'),
    throttle: new AttemptThrottle({ store: limitStore, namespace: 'mfa', limit: config.mfaFailuresPerAccount, windowMs: config.loginFailureWindowSeconds * 1000, enabled: config.rateLimits, clock }),
    notices: mailer,
    accounts,
    tokenTtlSeconds: config.mfaTokenTtl,
    issuer: new URL(config.publicUrl).hostname,
  });
  const passkeys = new PasskeyService({ db, clock, notices: mailer, rpId: config.webauthnRpId, origin: new URL(config.publicUrl).origin, rpName: 'Gatehouse' });
  const passwordReset = new PasswordResetService({ db, clock, hasher, links: emailLinks, accounts, notices: mailer, log });
  const throttle = new LoginThrottle(limitStore, config.loginFailuresPerAccount, config.loginFailureWindowSeconds * 1000, config.rateLimits, clock);
  return {
    config,
    clock,
    storage,
    db,
    hasher,
    limitStore,
    bus,
    keys,
    sessions,
    userSessions,
    recentAuth: new RecentAuthService({
      db,
      clock,
      hasher,
      bus,
      maxAgeSeconds: config.reauthMaxAge,
      factors: mfa,
      passkeys,
      throttle: new AttemptThrottle({ store: limitStore, namespace: 'reauth', limit: config.loginFailuresPerAccount, windowMs: config.loginFailureWindowSeconds * 1000, enabled: config.rateLimits, clock }),
    }),
    tokens,
    accounts,
    email,
    passwordReset,
    emailLinks,
    logins: new LoginService({ db, clock, hasher, throttle, accounts, sessions, tokens, email, mfa, requireEmailVerification: config.requireEmailVerification }),
    mfa,
    passkeys,
    bucketlists: new BucketlistService({ db, dialect: storage.dialect, clock }),
    admin: new AdminService({ db, clock, accounts, mfa, mailer }),
    oidc: new OidcService({
      db,
      clock,
      config,
      keys: new KeyRing(db, new KeyVault(config.keyEncryptionSecret), clock, log, 'oidc'),
      sessions,
      log,
    }),
    mailer,
    async close() {
      await passwordReset.close();
      await mailer.close();
      await bus.close();
      await hasher.close();
    },
  };
}

/** Open the database named by the config and bring its schema up to date. */
export async function openStorage(config: Readonly<Config>): Promise<Storage> {
  const storage = await createStorage(config.databaseUrl, { poolSize: config.dbPoolSize, statementTimeoutMs: config.dbStatementTimeoutMs });
  try {
    await migrateToLatest(storage);
  } catch (error) {
    await storage.close();
    throw error;
  }
  return storage;
}

/**
 * REDIS_URL's client, tuned to fail fast rather than wait: no offline queue (a command while
 * disconnected fails at once), short connect and command timeouts, reconnection in the background.
 * Its users (RedisLimitStore, RedisRevocationBus) treat every failure as "Redis down" and fall back.
 * Resolves once connected, or after a short wait, so the first requests (or a CLI command) use it.
 */
export async function connectRedis(url: string, waitMs = 1_500): Promise<Redis> {
  // Loaded only when REDIS_URL is set: a single instance never pays for the client.
  const { Redis } = await import('ioredis');
  const redis = new Redis(url, {
    enableOfflineQueue: false,
    connectTimeout: 1_000,
    commandTimeout: 1_000,
    maxRetriesPerRequest: 1,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
    lazyConnect: false,
  });
  // Connection errors are reported by the stores that use the client (with a rate-limited warning).
  redis.on('error', () => {});
  if (redis.status === 'ready') return redis;
  await new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      redis.off('ready', done);
      redis.off('error', done);
      resolve();
    };
    const timer = setTimeout(done, waitMs);
    redis.once('ready', done);
    redis.once('error', done);
  });
  return redis;
}

/** Close REDIS_URL's client politely, or at once when Redis does not answer. */
export async function disconnectRedis(redis: Redis): Promise<void> {
  await redis.quit().catch(() => redis.disconnect());
}

/**
 * Storage, Redis (when configured) and the services, for work outside the HTTP server (the CLI):
 * built like a server's, so what a command revokes reaches running instances at once.
 */
export async function withServices<T>(config: Readonly<Config>, log: ServiceLog, work: (services: Services) => Promise<T>): Promise<T> {
  const storage = await openStorage(config);
  const redis = config.redisUrl ? await connectRedis(config.redisUrl) : undefined;
  const services = createServices(config, { storage, log, ...(redis ? { redis } : {}) });
  try {
    if (services.bus instanceof RedisRevocationBus) await services.bus.whenSubscribed(1_500);
    return await work(services);
  } finally {
    await services.close();
    if (redis) await disconnectRedis(redis);
    await storage.close();
  }
}

/** How often expired sessions and token logins are deleted from the database. */
export const HOUSEKEEPING_INTERVAL_MS = 3600_000;

/**
 * The hourly sweep of expired sessions, token logins, spent refresh tokens, mailed links, second steps, passkey challenges and OpenID Connect codes and tokens, for a serving
 * process (a check never needs it: expired rows are refused anyway). Returns its stop function.
 */
export function startHousekeeping(services: Pick<Services, 'sessions' | 'tokens' | 'emailLinks' | 'mfa' | 'passkeys' | 'oidc'>, log: ServiceLog, intervalMs = HOUSEKEEPING_INTERVAL_MS): () => void {
  const sweep = setInterval(() => {
    services.sessions.deleteExpired().catch((error: unknown) => log.warn({ err: error }, 'session sweep failed'));
    services.tokens.deleteExpired().catch((error: unknown) => log.warn({ err: error }, 'token sweep failed'));
    services.emailLinks.deleteExpired().catch((error: unknown) => log.warn({ err: error }, 'email link sweep failed'));
    services.mfa.deleteExpired().catch((error: unknown) => log.warn({ err: error }, 'second-step sweep failed'));
    services.passkeys.deleteExpired().catch((error: unknown) => log.warn({ err: error }, 'passkey challenge sweep failed'));
    services.oidc.deleteExpired().catch((error: unknown) => log.warn({ err: error }, 'OpenID Connect sweep failed'));
  }, intervalMs);
  sweep.unref();
  return () => clearInterval(sweep);
}
