import { isIP } from 'node:net';
import { availableParallelism } from 'node:os';
import { hostnameOf, isIpAddress, parseHostPattern, patternOverlaps } from './authz/host-patterns.js';

/**
 * Every setting Gatehouse reads, parsed and validated once at start.
 * `docs/configuration.md` lists the same names with the same defaults.
 */
export interface Config {
  nodeEnv: 'development' | 'production' | 'test';
  port: number;
  host: string;
  /** Public origin without a trailing slash; also the tokens' `iss`. */
  publicUrl: string;
  /** Whether PUBLIC_URL was set, rather than derived from HOST and PORT. */
  publicUrlSet: boolean;
  databaseUrl: string;
  redisUrl: string | null;
  /** Prefix of every Redis key and channel, so several deployments (or test runs) can share one Redis. */
  redisPrefix: string;
  bcryptCost: number;
  /** How many bcrypt hashes run at once (each on a libuv thread). */
  hashConcurrency: number;
  /** How many logins may wait for a hash slot before new ones are shed with 503. */
  hashQueueMax: number;
  /** Scheduling niceness of the hash threads, so session checks win the CPU during a login storm. */
  hashNiceness: number;
  /**
   * `auto` becomes `true` in production with an https PUBLIC_URL: behind a TLS proxy that is not
   * listed in TRUST_PROXY the request looks like plain HTTP, and the cookies must still be Secure.
   */
  cookieSecure: 'auto' | 'true' | 'false';
  /**
   * Which X-Forwarded-* hops to believe: false (none), a hop count (1 = the proxy in front of us:
   * the client address is the right-most X-Forwarded-For entry, the one that proxy appended), or
   * a comma-separated list of proxy addresses/CIDRs.
   */
  trustProxy: false | number | string;
  accessTokenTtl: number;
  accessTokenAudience: string | null;
  jwtAlgorithm: 'EdDSA' | 'ES256';
  refreshTokenTtl: number;
  refreshReuseGraceSeconds: number;
  sessionIdleTimeout: number;
  sessionMaxAge: number;
  /** Seconds a login or re-authentication counts as recent for the routes that change the account. */
  reauthMaxAge: number;
  /** Seconds an email verification link stays valid. */
  emailTokenTtl: number;
  /** Seconds a password reset or email change link stays valid. */
  passwordResetTtl: number;
  /** A correct password is refused (403 email_not_verified) until the user's address is verified; CLI-made users are exempt. */
  requireEmailVerification: boolean;
  /** Seconds a login's second step (its mfa_token) stays open. */
  mfaTokenTtl: number;
  /** Wrong codes at the login's second step per account per LOGIN_FAILURE_WINDOW_SECONDS; past it 429 at that step only. */
  mfaFailuresPerAccount: number;
  /** The WebAuthn relying party id: PUBLIC_URL's hostname unless WEBAUTHN_RP_ID says otherwise. */
  webauthnRpId: string;
  maxSessionsPerUser: number;
  corsOrigins: string[];
  workers: number;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** One line per completed request. Off by default, as in Keycloak: /metrics counts requests. */
  accessLog: boolean;
  rateLimits: boolean;
  loginFailuresPerAccount: number;
  loginFailureWindowSeconds: number;
  rateLimitPerIp: number;
  bodyLimit: number;
  /** Secret from which the key that encrypts signing keys at rest is derived. */
  keyEncryptionSecret: string | null;
  metricsToken: string | null;
  /** A separate listener for GET /metrics (no token needed there); null: none. */
  metricsPort: number | null;
  /** Address the METRICS_PORT listener binds to; loopback unless told otherwise (it has no token). */
  metricsHost: string;
  /** Most keys the in-memory limit store holds per kind (per-address counters, failure counters, blocks). */
  limitStoreMaxKeys: number;
  dbPoolSize: number;
  dbStatementTimeoutMs: number;
  /** SMTP_URL, parsed; null: each mail is written as an .eml file to `mailDir` instead (refused in production). */
  smtp: SmtpSettings | null;
  /** The From header of every mail: `Name <address>` or a bare address. */
  mailFrom: string;
  /** Where mail goes as .eml files when there is no SMTP_URL. */
  mailDir: string;
  /** Most mails with links to one address in any 60 minutes (sent or failed); notices are not counted. */
  emailsPerAddressPerHour: number;
  /**
   * COOKIE_DOMAIN: the `Domain` of the session and CSRF cookies, so that they reach sibling hosts
   * (forward authentication); null: host-only cookies, the default. See server/cookies.ts.
   */
  cookieDomain: string | null;
  /** FORWARD_AUTH_HOSTS, normalized (see authz/host-patterns.ts): the hosts forward authentication protects and `/login`'s `next` may return to. */
  forwardAuthHosts: readonly string[];
  /** FORWARD_AUTH_RULES: the role a protected host requires; the most specific matching pattern wins, hosts without one admit every user. */
  forwardAuthRules: readonly ForwardAuthRule[];
  /** OIDC_ENABLED: the OpenID Connect provider, its client admin routes and the grants routes (off: 404, as unknown routes). */
  oidcEnabled: boolean;
}

/** One FORWARD_AUTH_RULES entry: `host=role`. */
export interface ForwardAuthRule {
  /** A normalized host pattern (`app.example.com` or `*.example.com`). */
  host: string;
  role: 'user' | 'admin';
}

/** Where SMTP_URL points. `secure`: TLS from the first byte (smtps://); otherwise STARTTLS when the server offers it. */
export interface SmtpSettings {
  host: string;
  port: number;
  secure: boolean;
  auth: { user: string; pass: string } | null;
}

/** Thrown when a setting is invalid; the message is one line naming the variable. */
export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    detail: string,
  ) {
    super(`${variable}: ${detail}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

function read(env: Env, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = read(env, name);
  if (raw === undefined) return fallback;
  if (!/^-?\d+$/.test(raw)) throw new ConfigError(name, `must be an integer, got "${raw}"`);
  const value = Number(raw);
  if (value < min || value > max) throw new ConfigError(name, `must be between ${min} and ${max}, got ${value}`);
  return value;
}

function oneOf<T extends string>(env: Env, name: string, fallback: T, allowed: readonly T[]): T {
  const raw = read(env, name)?.toLowerCase();
  if (raw === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(raw)) {
    throw new ConfigError(name, `must be one of ${allowed.join(', ')}, got "${raw}"`);
  }
  return raw as T;
}

function onOff(env: Env, name: string, fallback: boolean): boolean {
  const raw = read(env, name)?.toLowerCase();
  if (raw === undefined) return fallback;
  if (['on', 'true', '1', 'yes'].includes(raw)) return true;
  if (['off', 'false', '0', 'no'].includes(raw)) return false;
  throw new ConfigError(name, `must be on or off, got "${raw}"`);
}

function originOf(name: string, raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(name, `must be an absolute http(s) URL, got "${raw}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError(name, `must use http or https, got "${url.protocol}"`);
  }
  return raw.replace(/\/+$/, '');
}

/** An allow-list entry is compared with the Origin header, which never has a path: refuse one rather than never match. */
function bareOrigin(name: string, raw: string): string {
  const url = new URL(originOf(name, raw));
  if (url.pathname !== '/' || url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '') {
    throw new ConfigError(name, `must list origins (scheme://host[:port]) without a path, got "${raw}"`);
  }
  return url.origin;
}

/**
 * WEBAUTHN_RP_ID: PUBLIC_URL's host name by default. Browsers accept an RP id only when it is the
 * page's host or a parent domain of it, so anything else could never work: refused at start.
 */
function webauthnRpId(env: Env, publicUrl: string): string {
  const host = new URL(publicUrl).hostname;
  const raw = read(env, 'WEBAUTHN_RP_ID');
  if (raw === undefined) return host;
  const id = raw.toLowerCase();
  if (!/^[a-z0-9.-]{1,253}$/.test(id) || (id !== host && !host.endsWith(`.${id}`))) {
    throw new ConfigError('WEBAUTHN_RP_ID', `must be PUBLIC_URL's host name (${host}) or a parent domain of it, got "${raw}"`);
  }
  return id;
}

/**
 * COOKIE_DOMAIN: a domain name that is PUBLIC_URL's host or a parent of it (browsers drop a
 * cookie whose Domain does not cover the answering host), with at least two labels.
 */
function cookieDomain(env: Env, publicUrl: string): string | null {
  const raw = read(env, 'COOKIE_DOMAIN');
  if (raw === undefined) return null;
  const domain = hostnameOf(raw.replace(/^\./, ''));
  if (domain === null || isIpAddress(domain) || !domain.includes('.') || /:\d*$/.test(raw)) {
    throw new ConfigError('COOKIE_DOMAIN', `must be a domain name such as example.com (no scheme, port or IP address), got "${raw}"`);
  }
  const host = new URL(publicUrl).hostname;
  if (domain !== host && !host.endsWith(`.${domain}`)) {
    throw new ConfigError('COOKIE_DOMAIN', `must be PUBLIC_URL's host name (${host}) or a parent domain of it, got "${raw}"`);
  }
  return domain;
}

/** A comma-separated list of host patterns; an invalid entry names the variable and the entry. */
function hostPatterns(env: Env, name: string): string[] {
  const patterns: string[] = [];
  for (const entry of (read(env, name) ?? '').split(',').map((e) => e.trim()).filter(Boolean)) {
    try {
      const pattern = parseHostPattern(entry);
      if (!patterns.includes(pattern)) patterns.push(pattern);
    } catch (error) {
      throw new ConfigError(name, (error as Error).message);
    }
  }
  return patterns;
}

/**
 * FORWARD_AUTH_RULES: `host=role,…`. A rule must name a host FORWARD_AUTH_HOSTS lets in: one that
 * does not is most likely a typo, which would leave the host it meant open to every user.
 */
function forwardAuthRules(env: Env, hosts: readonly string[]): ForwardAuthRule[] {
  const rules: ForwardAuthRule[] = [];
  for (const entry of (read(env, 'FORWARD_AUTH_RULES') ?? '').split(',').map((e) => e.trim()).filter(Boolean)) {
    const match = /^([^=]+)=\s*(user|admin)$/i.exec(entry);
    if (!match?.[1] || !match[2]) throw new ConfigError('FORWARD_AUTH_RULES', `must be host=role entries (role user or admin), got "${entry}"`);
    let host: string;
    try {
      host = parseHostPattern(match[1]);
    } catch (error) {
      throw new ConfigError('FORWARD_AUTH_RULES', (error as Error).message);
    }
    if (rules.some((rule) => rule.host === host)) throw new ConfigError('FORWARD_AUTH_RULES', `"${host}" has two rules`);
    if (!patternOverlaps(host, hosts)) throw new ConfigError('FORWARD_AUTH_RULES', `"${host}" is not a host FORWARD_AUTH_HOSTS lets in`);
    rules.push(Object.freeze({ host, role: match[2].toLowerCase() as ForwardAuthRule['role'] }));
  }
  return rules;
}

function listenHost(env: Env): string {
  const raw = read(env, 'HOST') ?? '127.0.0.1';
  // A host name, an IPv4 address or an IPv6 address (with an optional zone), nothing else.
  if (!/^[A-Za-z0-9.-]{1,253}$/.test(raw) && !/^[0-9A-Fa-f:.]+(%[A-Za-z0-9]+)?$/.test(raw)) {
    throw new ConfigError('HOST', `must be a host name or an IP address, got "${raw}"`);
  }
  return raw;
}

function databaseUrl(env: Env): string {
  const raw = read(env, 'DATABASE_URL') ?? 'sqlite:./data/gatehouse.db';
  if (/^sqlite:.+/.test(raw) || /^postgres(ql)?:\/\/.+/.test(raw)) return raw;
  throw new ConfigError('DATABASE_URL', 'must start with sqlite: or postgres:// (or postgresql://)');
}

function redisUrl(env: Env): string | null {
  const raw = read(env, 'REDIS_URL');
  if (raw === undefined) return null;
  if (!/^rediss?:\/\/.+/.test(raw)) throw new ConfigError('REDIS_URL', 'must start with redis:// or rediss://');
  return raw;
}

function redisPrefix(env: Env): string {
  const raw = read(env, 'REDIS_PREFIX') ?? 'gatehouse:';
  if (!/^[A-Za-z0-9:_.-]{1,64}$/.test(raw)) throw new ConfigError('REDIS_PREFIX', 'must be 1–64 characters: letters, digits, ":", "_", "." or "-"');
  return raw;
}

function metricsPort(env: Env, port: number): number | null {
  if (read(env, 'METRICS_PORT') === undefined) return null;
  const value = integer(env, 'METRICS_PORT', 0, 1, 65535);
  if (value === port) throw new ConfigError('METRICS_PORT', `must differ from PORT (${port})`);
  return value;
}

function metricsHost(env: Env): string {
  const raw = read(env, 'METRICS_HOST') ?? '127.0.0.1';
  if (!/^[A-Za-z0-9.-]{1,253}$/.test(raw) && !/^[0-9A-Fa-f:.]+(%[A-Za-z0-9]+)?$/.test(raw)) {
    throw new ConfigError('METRICS_HOST', `must be a host name or an IP address, got "${raw}"`);
  }
  return raw;
}

function metricsToken(env: Env): string | null {
  const raw = read(env, 'METRICS_TOKEN');
  if (raw !== undefined && raw.length < 16) throw new ConfigError('METRICS_TOKEN', 'must be at least 16 characters');
  return raw ?? null;
}

/** SMTP_URL as it may appear in an error or a log line: never its password. */
function smtpLabel(raw: string): string {
  // Up to the last "@": a password typed without percent-encoding may hold "@" or "/".
  return raw.replace(/^([^:/]*:\/\/).*@/, '$1***@');
}

function smtpSettings(env: Env): SmtpSettings | null {
  const raw = read(env, 'SMTP_URL');
  if (raw === undefined) return null;
  const shape = 'must be smtp://[user:pass@]host[:port] or smtps://…';
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError('SMTP_URL', `${shape}, got "${smtpLabel(raw)}"`);
  }
  if ((url.protocol !== 'smtp:' && url.protocol !== 'smtps:') || url.hostname === '' || !['', '/'].includes(url.pathname) || url.search !== '' || url.hash !== '' || url.port === '0') {
    throw new ConfigError('SMTP_URL', `${shape}, got "${smtpLabel(raw)}"`);
  }
  const secure = url.protocol === 'smtps:';
  let auth: SmtpSettings['auth'] = null;
  if (url.username !== '' || url.password !== '') {
    try {
      auth = { user: decodeURIComponent(url.username), pass: decodeURIComponent(url.password) };
    } catch {
      throw new ConfigError('SMTP_URL', 'the user name or password is not valid percent-encoding');
    }
  }
  return Object.freeze({
    // The URL parser keeps an IPv6 literal's brackets; a socket address has none.
    host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    // The submission ports: 465 for TLS from the start, 587 for STARTTLS.
    port: url.port === '' ? (secure ? 465 : 587) : Number(url.port),
    secure,
    auth: auth && Object.freeze(auth),
  });
}

const MAIL_ADDRESS = '[^\\s<>@"]+@[^\\s<>@]+';

function mailFrom(env: Env, publicUrl: string): string {
  const raw = read(env, 'MAIL_FROM');
  if (raw === undefined) return `Gatehouse <no-reply@${new URL(publicUrl).hostname}>`;
  // A line break would let the value write headers of its own.
  if (/[\r\n]/.test(raw) || !new RegExp(`^(${MAIL_ADDRESS}|[^<>]*<${MAIL_ADDRESS}>)$`).test(raw)) {
    throw new ConfigError('MAIL_FROM', `must be an address or Name <address>, got "${raw.replace(/[\r\n]/g, ' ')}"`);
  }
  return raw;
}

function isAddressOrRange(entry: string): boolean {
  const [address = '', prefix, ...rest] = entry.split('/');
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return false;
  if (prefix === undefined) return true;
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128);
}

function trustProxy(env: Env): false | number | string {
  const raw = read(env, 'TRUST_PROXY');
  if (raw === undefined || ['off', 'false', '0', 'no'].includes(raw.toLowerCase())) return false;
  // `on` trusts one hop, never every hop: with every hop trusted the client would pick its own
  // address by sending X-Forwarded-For, since an appending proxy keeps what the client sent.
  if (['on', 'true', 'yes'].includes(raw.toLowerCase())) return 1;
  if (/^\d+$/.test(raw)) {
    const hops = Number(raw);
    if (hops < 1 || hops > 32) throw new ConfigError('TRUST_PROXY', `a hop count must be between 1 and 32, got ${hops}`);
    return hops;
  }
  // Anything else is a comma-separated list of proxy addresses or CIDR ranges, as Fastify accepts.
  const entries = raw.split(',').map((entry) => entry.trim());
  if (!entries.every(isAddressOrRange)) {
    throw new ConfigError('TRUST_PROXY', 'must be off, on (one hop), a hop count, or a comma-separated list of addresses/CIDRs');
  }
  return raw;
}

function workers(env: Env): number {
  const raw = read(env, 'WORKERS');
  if (raw?.toLowerCase() === 'auto') return availableParallelism();
  return integer(env, 'WORKERS', 1, 1, 256);
}

function jwtAlgorithm(env: Env): 'EdDSA' | 'ES256' {
  const raw = read(env, 'JWT_ALGORITHM') ?? 'EdDSA';
  if (raw === 'EdDSA' || raw === 'ES256') return raw;
  throw new ConfigError('JWT_ALGORITHM', `must be EdDSA or ES256, got "${raw}"`);
}

/** The contract's duration settings take any positive whole number of seconds: the bound only keeps dates valid (68 years). */
const ANY_DURATION = 2 ** 31 - 1;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/**
 * Parse the environment into a frozen Config, or throw ConfigError.
 *
 * @example loadConfig({ PORT: '8080', DATABASE_URL: 'sqlite::memory:' })
 */
export function loadConfig(env: Env = process.env): Readonly<Config> {
  const nodeEnv = oneOf(env, 'NODE_ENV', 'development', ['development', 'production', 'test'] as const);
  const port = integer(env, 'PORT', 3000, 0, 65535);
  const host = listenHost(env);
  const publicUrlRaw = read(env, 'PUBLIC_URL');
  const publicUrl = originOf('PUBLIC_URL', publicUrlRaw ?? `http://${host.includes(':') ? `[${host}]` : host}:${port}`);
  const cookieSecure = oneOf(env, 'COOKIE_SECURE', 'auto', ['auto', 'true', 'false'] as const);
  const corsOrigins = (read(env, 'CORS_ORIGINS') ?? '')
    .split(',')
    .map((origin) => origin.trim())
    .filter(Boolean)
    .map((origin) => bareOrigin('CORS_ORIGINS', origin));
  const sessionIdleTimeout = integer(env, 'SESSION_IDLE_TIMEOUT', 7 * 24 * 3600, 60, 365 * 24 * 3600);
  const sessionMaxAge = integer(env, 'SESSION_MAX_AGE', 30 * 24 * 3600, 60, 5 * 365 * 24 * 3600);
  const keyEncryptionSecret = read(env, 'KEY_ENCRYPTION_SECRET') ?? null;
  const smtp = smtpSettings(env);
  const forwardAuthHosts = hostPatterns(env, 'FORWARD_AUTH_HOSTS');

  if (nodeEnv === 'production') {
    if (cookieSecure === 'false') {
      throw new ConfigError('COOKIE_SECURE', 'false is refused when NODE_ENV=production');
    }
    if (!publicUrl.startsWith('https://')) {
      throw new ConfigError('PUBLIC_URL', 'must be an https URL when NODE_ENV=production');
    }
    if (keyEncryptionSecret === null || keyEncryptionSecret.length < 32) {
      throw new ConfigError('KEY_ENCRYPTION_SECRET', 'must be set to at least 32 characters when NODE_ENV=production');
    }
    if (/change.?me|replace.?me|placeholder|^(.)\1*$/i.test(keyEncryptionSecret)) {
      throw new ConfigError('KEY_ENCRYPTION_SECRET', 'looks like a placeholder; generate one, e.g. `openssl rand -base64 48`');
    }
    if (smtp === null) {
      throw new ConfigError('SMTP_URL', 'must be set when NODE_ENV=production (without it mail is only written to files in MAIL_DIR)');
    }
  }
  if (keyEncryptionSecret !== null && keyEncryptionSecret.length < 16) {
    throw new ConfigError('KEY_ENCRYPTION_SECRET', 'must be at least 16 characters');
  }

  const cores = availableParallelism();
  return Object.freeze({
    nodeEnv,
    port,
    host,
    publicUrl,
    publicUrlSet: publicUrlRaw !== undefined,
    databaseUrl: databaseUrl(env),
    redisUrl: redisUrl(env),
    redisPrefix: redisPrefix(env),
    bcryptCost: integer(env, 'BCRYPT_COST', 12, 4, 15),
    hashConcurrency: integer(env, 'HASH_CONCURRENCY', cores, 1, 64),
    hashQueueMax: integer(env, 'HASH_QUEUE_MAX', 32 * cores, 0, 100_000),
    hashNiceness: integer(env, 'HASH_NICENESS', 10, 0, 19),
    cookieSecure: nodeEnv === 'production' && publicUrl.startsWith('https://') && cookieSecure === 'auto' ? 'true' : cookieSecure,
    trustProxy: trustProxy(env),
    accessTokenTtl: integer(env, 'ACCESS_TOKEN_TTL', 900, 30, 24 * 3600),
    accessTokenAudience: read(env, 'ACCESS_TOKEN_AUDIENCE') ?? null,
    jwtAlgorithm: jwtAlgorithm(env),
    refreshTokenTtl: integer(env, 'REFRESH_TOKEN_TTL', 30 * 24 * 3600, 60, 365 * 24 * 3600),
    refreshReuseGraceSeconds: integer(env, 'REFRESH_REUSE_GRACE_SECONDS', 10, 0, 300),
    sessionIdleTimeout,
    sessionMaxAge: Math.max(sessionMaxAge, 60),
    reauthMaxAge: integer(env, 'REAUTH_MAX_AGE', 600, 1, ANY_DURATION),
    emailTokenTtl: integer(env, 'EMAIL_TOKEN_TTL', 86_400, 1, ANY_DURATION),
    passwordResetTtl: integer(env, 'PASSWORD_RESET_TTL', 3600, 1, ANY_DURATION),
    requireEmailVerification: onOff(env, 'REQUIRE_EMAIL_VERIFICATION', false),
    mfaTokenTtl: integer(env, 'MFA_TOKEN_TTL', 300, 1, ANY_DURATION),
    mfaFailuresPerAccount: integer(env, 'MFA_FAILURES_PER_ACCOUNT', 5, 1, 100_000),
    webauthnRpId: webauthnRpId(env, publicUrl),
    maxSessionsPerUser: integer(env, 'MAX_SESSIONS_PER_USER', 50, 1, 10_000),
    corsOrigins,
    workers: workers(env),
    logLevel: oneOf(env, 'LOG_LEVEL', nodeEnv === 'test' ? 'silent' : 'info', LOG_LEVELS),
    accessLog: onOff(env, 'ACCESS_LOG', false),
    rateLimits: onOff(env, 'RATE_LIMITS', true),
    loginFailuresPerAccount: integer(env, 'LOGIN_FAILURES_PER_ACCOUNT', 10, 1, 100_000),
    loginFailureWindowSeconds: integer(env, 'LOGIN_FAILURE_WINDOW_SECONDS', 15 * 60, 1, 24 * 3600),
    rateLimitPerIp: integer(env, 'RATE_LIMIT_PER_IP', 60, 1, 1_000_000),
    bodyLimit: integer(env, 'BODY_LIMIT', 64 * 1024, 1024, 10 * 1024 * 1024),
    keyEncryptionSecret,
    metricsToken: metricsToken(env),
    metricsPort: metricsPort(env, port),
    metricsHost: metricsHost(env),
    limitStoreMaxKeys: integer(env, 'LIMIT_STORE_MAX_KEYS', 100_000, 100, 10_000_000),
    dbPoolSize: integer(env, 'DB_POOL_SIZE', 10, 1, 1000),
    dbStatementTimeoutMs: integer(env, 'DB_STATEMENT_TIMEOUT_MS', 5000, 100, 600_000),
    smtp,
    mailFrom: mailFrom(env, publicUrl),
    mailDir: read(env, 'MAIL_DIR') ?? './data/mail',
    emailsPerAddressPerHour: integer(env, 'EMAILS_PER_ADDRESS_PER_HOUR', 5, 1, 1000),
    cookieDomain: cookieDomain(env, publicUrl),
    forwardAuthHosts: Object.freeze(forwardAuthHosts),
    forwardAuthRules: Object.freeze(forwardAuthRules(env, forwardAuthHosts)),
    oidcEnabled: onOff(env, 'OIDC_ENABLED', true),
  });
}

/** DATABASE_URL as it may be shown to an operator: a PostgreSQL password is masked. */
export function databaseLabel(url: string): string {
  if (!/^postgres(ql)?:\/\//.test(url)) return url;
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return 'postgres://…';
  }
}
