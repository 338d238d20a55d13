import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config.js';

const SECRET = 'k'.repeat(20) + 'Zq8-vW3#pL0xR7tY5uI2oP9';
const PRODUCTION = { NODE_ENV: 'production', PUBLIC_URL: 'https://auth.example.com', KEY_ENCRYPTION_SECRET: SECRET, SMTP_URL: 'smtps://mail.example.com' };

function configError(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    return error;
  }
  assert.fail(`expected ${JSON.stringify(env)} to be refused`);
}

describe('loadConfig', () => {
  it('works with no configuration at all, with the documented defaults', () => {
    const cores = availableParallelism();
    const config = loadConfig({});
    assert.deepEqual(
      { ...config },
      {
        nodeEnv: 'development',
        port: 3000,
        host: '127.0.0.1',
        publicUrl: 'http://127.0.0.1:3000',
        publicUrlSet: false,
        databaseUrl: 'sqlite:./data/gatehouse.db',
        redisUrl: null,
        redisPrefix: 'gatehouse:',
        bcryptCost: 12,
        hashConcurrency: cores,
        hashQueueMax: 32 * cores,
        hashNiceness: 10,
        cookieSecure: 'auto',
        trustProxy: false,
        accessTokenTtl: 900,
        accessTokenAudience: null,
        jwtAlgorithm: 'EdDSA',
        refreshTokenTtl: 30 * 24 * 3600,
        refreshReuseGraceSeconds: 10,
        sessionIdleTimeout: 7 * 24 * 3600,
        sessionMaxAge: 30 * 24 * 3600,
        reauthMaxAge: 600,
        emailTokenTtl: 86_400,
        passwordResetTtl: 3600,
        requireEmailVerification: false,
        mfaTokenTtl: 300,
        mfaFailuresPerAccount: 5,
        webauthnRpId: '127.0.0.1',
        maxSessionsPerUser: 50,
        corsOrigins: [],
        workers: 1,
        logLevel: 'info',
        accessLog: false,
        rateLimits: true,
        loginFailuresPerAccount: 10,
        loginFailureWindowSeconds: 900,
        rateLimitPerIp: 60,
        bodyLimit: 65536,
        keyEncryptionSecret: null,
        metricsToken: null,
        metricsPort: null,
        metricsHost: '127.0.0.1',
        limitStoreMaxKeys: 100_000,
        dbPoolSize: 10,
        dbStatementTimeoutMs: 5000,
        smtp: null,
        mailFrom: 'Gatehouse <no-reply@127.0.0.1>',
        mailDir: './data/mail',
        emailsPerAddressPerHour: 5,
        cookieDomain: null,
        forwardAuthHosts: [],
        forwardAuthRules: [],
        oidcEnabled: true,
      },
    );
    assert.ok(Object.isFrozen(config));
  });

  it('is silent by default under NODE_ENV=test, and empty values mean the default', () => {
    assert.equal(loadConfig({ NODE_ENV: 'test' }).logLevel, 'silent');
    assert.equal(loadConfig({ PORT: '', BCRYPT_COST: '  ' }).port, 3000);
  });

  it('reads every setting it documents', () => {
    const config = loadConfig({
      PORT: ' 8080 ',
      HOST: '0.0.0.0',
      PUBLIC_URL: 'https://auth.example.com/',
      DATABASE_URL: 'postgresql://gatehouse@db/gatehouse',
      REDIS_URL: 'redis://127.0.0.1:6379',
      BCRYPT_COST: '4',
      COOKIE_SECURE: 'TRUE',
      TRUST_PROXY: '10.0.0.0/8, 127.0.0.1',
      ACCESS_TOKEN_TTL: '300',
      REFRESH_REUSE_GRACE_SECONDS: '0',
      SESSION_IDLE_TIMEOUT: '3600',
      SESSION_MAX_AGE: '86400',
      CORS_ORIGINS: 'https://app.example.com, http://localhost:5173/',
      WORKERS: 'auto',
      LOG_LEVEL: 'debug',
      RATE_LIMITS: 'off',
      LOGIN_FAILURES_PER_ACCOUNT: '3',
      RATE_LIMIT_PER_IP: '5',
      BODY_LIMIT: '2048',
      METRICS_PORT: '9100',
      METRICS_HOST: '10.0.0.5',
      LIMIT_STORE_MAX_KEYS: '5000',
      SMTP_URL: 'smtp://gatehouse:s3cret@mail.example.com:2525',
      MAIL_FROM: 'Example Auth <auth@example.com>',
      MAIL_DIR: '/tmp/gatehouse-mail',
      EMAILS_PER_ADDRESS_PER_HOUR: '2',
    });
    assert.equal(config.port, 8080);
    assert.equal(config.host, '0.0.0.0');
    assert.equal(config.publicUrl, 'https://auth.example.com');
    assert.equal(config.databaseUrl, 'postgresql://gatehouse@db/gatehouse');
    assert.equal(config.redisUrl, 'redis://127.0.0.1:6379');
    assert.equal(config.bcryptCost, 4);
    assert.equal(config.cookieSecure, 'true');
    assert.equal(config.trustProxy, '10.0.0.0/8, 127.0.0.1');
    assert.equal(config.accessTokenTtl, 300);
    assert.equal(config.refreshReuseGraceSeconds, 0);
    assert.equal(config.sessionIdleTimeout, 3600);
    assert.equal(config.sessionMaxAge, 86400);
    assert.deepEqual(config.corsOrigins, ['https://app.example.com', 'http://localhost:5173']);
    assert.equal(config.workers, availableParallelism());
    assert.equal(config.logLevel, 'debug');
    assert.equal(config.rateLimits, false);
    assert.equal(config.loginFailuresPerAccount, 3);
    assert.equal(config.rateLimitPerIp, 5);
    assert.equal(config.bodyLimit, 2048);
    assert.equal(config.metricsPort, 9100);
    assert.equal(config.metricsHost, '10.0.0.5');
    assert.equal(config.limitStoreMaxKeys, 5000);
    assert.deepEqual(config.smtp, { host: 'mail.example.com', port: 2525, secure: false, auth: { user: 'gatehouse', pass: 's3cret' } });
    assert.equal(config.mailFrom, 'Example Auth <auth@example.com>');
    assert.equal(config.mailDir, '/tmp/gatehouse-mail');
    assert.equal(config.emailsPerAddressPerHour, 2);
  });

  describe('mail settings', () => {
    it('reads SMTP_URL: smtp:// or smtps://, percent-encoded credentials, the submission port by default', () => {
      assert.deepEqual(loadConfig({ SMTP_URL: 'smtp://mail.example.com' }).smtp, { host: 'mail.example.com', port: 587, secure: false, auth: null });
      assert.deepEqual(loadConfig({ SMTP_URL: 'smtps://mail.example.com' }).smtp, { host: 'mail.example.com', port: 465, secure: true, auth: null });
      assert.deepEqual(loadConfig({ SMTP_URL: 'smtps://no-reply%40example.com:p%40ss%3Aword@[::1]:1465/' }).smtp, {
        host: '::1',
        port: 1465,
        secure: true,
        auth: { user: 'no-reply@example.com', pass: 'p@ss:word' },
      });
    });

    it('never repeats an SMTP_URL password in its error', () => {
      for (const value of ['smtp://user:hunter2-secret@mail.example.com/path', 'smtp://user:hunter2/secret@mail.example.com?x=1', 'http://user:hunter2-secret@mail.example.com']) {
        const error = configError({ SMTP_URL: value });
        assert.equal(error.variable, 'SMTP_URL');
        assert.doesNotMatch(error.message, /hunter2/, error.message);
      }
    });

    it("takes MAIL_FROM's default from PUBLIC_URL's host name, without the port", () => {
      assert.equal(loadConfig({ PUBLIC_URL: 'https://auth.example.com:8443/base' }).mailFrom, 'Gatehouse <no-reply@auth.example.com>');
      assert.equal(loadConfig({ HOST: 'localhost', PORT: '8081' }).mailFrom, 'Gatehouse <no-reply@localhost>');
      assert.equal(loadConfig({ MAIL_FROM: 'auth@example.com' }).mailFrom, 'auth@example.com');
      assert.equal(loadConfig({ MAIL_FROM: '"Example, Inc." <auth@example.com>' }).mailFrom, '"Example, Inc." <auth@example.com>');
    });

    it('caps link mails at 5 per address per hour unless EMAILS_PER_ADDRESS_PER_HOUR says otherwise', () => {
      assert.equal(loadConfig({}).emailsPerAddressPerHour, 5);
      assert.equal(loadConfig({ EMAILS_PER_ADDRESS_PER_HOUR: '1' }).emailsPerAddressPerHour, 1);
      assert.equal(loadConfig({ EMAILS_PER_ADDRESS_PER_HOUR: '1000' }).emailsPerAddressPerHour, 1000);
    });
  });

  describe('TRUST_PROXY', () => {
    it('is off by default and for off, false, no and 0', () => {
      for (const value of [undefined, 'off', 'false', 'no', '0', 'OFF', '  ']) {
        assert.equal(loadConfig(value === undefined ? {} : { TRUST_PROXY: value }).trustProxy, false, String(value));
      }
    });

    it('on, true and yes trust exactly one hop, never every hop', () => {
      // With every hop trusted, a client picks its own address by sending X-Forwarded-For
      // (an appending proxy keeps what the client wrote): test/http/proxy.test.ts.
      for (const value of ['on', 'true', 'yes', 'ON', 'True']) {
        assert.equal(loadConfig({ TRUST_PROXY: value }).trustProxy, 1, value);
      }
    });

    it('takes a hop count from 1 to 32', () => {
      assert.equal(loadConfig({ TRUST_PROXY: '1' }).trustProxy, 1);
      assert.equal(loadConfig({ TRUST_PROXY: '2' }).trustProxy, 2);
      assert.equal(loadConfig({ TRUST_PROXY: '32' }).trustProxy, 32);
      assert.equal(configError({ TRUST_PROXY: '33' }).variable, 'TRUST_PROXY');
    });

    it("takes the proxies' addresses and CIDR ranges as written", () => {
      assert.equal(loadConfig({ TRUST_PROXY: '10.0.0.0/8, 127.0.0.1' }).trustProxy, '10.0.0.0/8, 127.0.0.1');
      assert.equal(loadConfig({ TRUST_PROXY: '::1, fd00::/8' }).trustProxy, '::1, fd00::/8');
      assert.equal(loadConfig({ TRUST_PROXY: '192.168.1.10' }).trustProxy, '192.168.1.10');
    });
  });

  it('binds the metrics listener to the loopback unless METRICS_HOST says otherwise', () => {
    assert.equal(loadConfig({ HOST: '0.0.0.0', METRICS_PORT: '9100' }).metricsHost, '127.0.0.1', 'not HOST: /metrics has no token there');
    assert.equal(loadConfig({ METRICS_HOST: '0.0.0.0' }).metricsHost, '0.0.0.0');
    assert.equal(loadConfig({ METRICS_HOST: '::' }).metricsHost, '::');
    assert.equal(loadConfig({ METRICS_HOST: 'metrics.internal' }).metricsHost, 'metrics.internal');
  });

  it('bounds the in-memory limit store per kind of key with LIMIT_STORE_MAX_KEYS', () => {
    assert.equal(loadConfig({}).limitStoreMaxKeys, 100_000);
    assert.equal(loadConfig({ LIMIT_STORE_MAX_KEYS: '100' }).limitStoreMaxKeys, 100);
    assert.equal(loadConfig({ LIMIT_STORE_MAX_KEYS: '10000000' }).limitStoreMaxKeys, 10_000_000);
  });

  it('derives PUBLIC_URL from HOST and PORT, and strips its trailing slashes', () => {
    assert.equal(loadConfig({ HOST: 'localhost', PORT: '8081' }).publicUrl, 'http://localhost:8081');
    assert.equal(loadConfig({ HOST: '::1', PORT: '8081' }).publicUrl, 'http://[::1]:8081');
    assert.equal(loadConfig({ PUBLIC_URL: 'https://example.com/' }).publicUrl, 'https://example.com');
    assert.equal(loadConfig({ PUBLIC_URL: 'https://example.com/auth//' }).publicUrl, 'https://example.com/auth');
  });

  const invalid: Array<[string, string]> = [
    ['NODE_ENV', 'staging'],
    ['PORT', 'abc'],
    ['PORT', '70000'],
    ['PORT', '-1'],
    ['PORT', '80.5'],
    ['HOST', 'not a host'],
    ['HOST', 'http://example.com'],
    ['PUBLIC_URL', 'example.com'],
    ['PUBLIC_URL', 'ftp://example.com'],
    ['DATABASE_URL', 'mysql://db/gatehouse'],
    ['DATABASE_URL', 'sqlite:'],
    ['REDIS_URL', 'localhost:6379'],
    ['REDIS_PREFIX', 'has spaces'],
    ['BCRYPT_COST', '3'],
    ['BCRYPT_COST', '16'],
    ['BCRYPT_COST', 'twelve'],
    ['HASH_CONCURRENCY', '0'],
    ['HASH_QUEUE_MAX', '-5'],
    ['HASH_NICENESS', '20'],
    ['COOKIE_SECURE', 'yes'],
    ['TRUST_PROXY', 'maybe'],
    ['TRUST_PROXY', '33'],
    ['TRUST_PROXY', 'proxy.internal'],
    ['TRUST_PROXY', 'cafe'],
    ['TRUST_PROXY', '10.0.0.0/33'],
    ['METRICS_HOST', 'not a host'],
    ['METRICS_HOST', 'http://0.0.0.0'],
    ['LIMIT_STORE_MAX_KEYS', '99'],
    ['LIMIT_STORE_MAX_KEYS', '10000001'],
    ['LIMIT_STORE_MAX_KEYS', 'many'],
    ['ACCESS_TOKEN_TTL', '10'],
    ['JWT_ALGORITHM', 'HS256'],
    ['REFRESH_TOKEN_TTL', '1'],
    ['REFRESH_REUSE_GRACE_SECONDS', '1000'],
    ['SESSION_IDLE_TIMEOUT', '59'],
    ['SESSION_MAX_AGE', '1e6'],
    ['MAX_SESSIONS_PER_USER', '0'],
    ['CORS_ORIGINS', 'not-a-url'],
    ['CORS_ORIGINS', 'https://app.example.com/path'],
    ['WORKERS', '0'],
    ['WORKERS', 'many'],
    ['LOG_LEVEL', 'verbose'],
    ['RATE_LIMITS', 'sometimes'],
    ['LOGIN_FAILURES_PER_ACCOUNT', '0'],
    ['LOGIN_FAILURE_WINDOW_SECONDS', '0'],
    ['RATE_LIMIT_PER_IP', '0'],
    ['BODY_LIMIT', '10'],
    ['KEY_ENCRYPTION_SECRET', 'short'],
    ['METRICS_TOKEN', 'short'],
    ['METRICS_PORT', '3000'],
    ['METRICS_PORT', 'abc'],
    ['DB_POOL_SIZE', '0'],
    ['DB_STATEMENT_TIMEOUT_MS', '5'],
    ['SMTP_URL', 'mail.example.com:25'],
    ['SMTP_URL', 'smtp://'],
    ['SMTP_URL', 'smtp://mail.example.com:0'],
    ['SMTP_URL', 'smtp://mail.example.com?secure=false'],
    ['SMTP_URL', 'smtp://user:%zz@mail.example.com'],
    ['MAIL_FROM', 'Gatehouse'],
    ['MAIL_FROM', 'Gatehouse <no-reply>'],
    ['MAIL_FROM', 'a@example.com\r\nBcc: victim@example.com'],
    ['EMAILS_PER_ADDRESS_PER_HOUR', '0'],
    ['EMAILS_PER_ADDRESS_PER_HOUR', '1001'],
    ['EMAILS_PER_ADDRESS_PER_HOUR', 'five'],
  ];
  for (const [name, value] of invalid) {
    it(`refuses ${name}=${JSON.stringify(value)} with one line naming ${name}`, () => {
      const error = configError({ [name]: value });
      assert.equal(error.variable, name);
      assert.ok(error.message.startsWith(`${name}: `), error.message);
      assert.ok(!error.message.includes('\n'), 'one line');
    });
  }

  describe('NODE_ENV=production', () => {
    it('starts with https PUBLIC_URL and a long key secret', () => {
      const config = loadConfig(PRODUCTION);
      assert.equal(config.nodeEnv, 'production');
      assert.equal(loadConfig({ ...PRODUCTION, COOKIE_SECURE: 'true' }).cookieSecure, 'true');
    });

    it('makes COOKIE_SECURE=auto always Secure: a TLS proxy not named in TRUST_PROXY looks like plain HTTP', () => {
      assert.equal(loadConfig(PRODUCTION).cookieSecure, 'true');
      assert.equal(loadConfig({ ...PRODUCTION, COOKIE_SECURE: 'auto' }).cookieSecure, 'true');
      assert.equal(loadConfig({ ...PRODUCTION, TRUST_PROXY: 'on' }).cookieSecure, 'true');
      // Outside production `auto` stays per request, so plain-HTTP development keeps its cookies.
      assert.equal(loadConfig({ PUBLIC_URL: 'https://auth.example.com' }).cookieSecure, 'auto');
      assert.equal(loadConfig({ NODE_ENV: 'test', PUBLIC_URL: 'https://auth.example.com' }).cookieSecure, 'auto');
    });

    it('refuses COOKIE_SECURE=false', () => {
      assert.equal(configError({ ...PRODUCTION, COOKIE_SECURE: 'false' }).variable, 'COOKIE_SECURE');
      // The same value is fine in development.
      assert.equal(loadConfig({ COOKIE_SECURE: 'false' }).cookieSecure, 'false');
    });

    it('refuses a PUBLIC_URL that is not https, including the derived default', () => {
      assert.equal(configError({ ...PRODUCTION, PUBLIC_URL: 'http://auth.example.com' }).variable, 'PUBLIC_URL');
      const { PUBLIC_URL: _omitted, ...withoutUrl } = PRODUCTION;
      assert.equal(configError(withoutUrl).variable, 'PUBLIC_URL');
    });

    it('refuses to start without SMTP_URL, naming it: mail would only go to files', () => {
      const { SMTP_URL: _omitted, ...withoutSmtp } = PRODUCTION;
      const error = configError(withoutSmtp);
      assert.equal(error.variable, 'SMTP_URL');
      assert.ok(!error.message.includes('\n'));
      // Development and tests write .eml files instead.
      assert.equal(loadConfig({ NODE_ENV: 'test' }).smtp, null);
    });

    it('refuses a missing, short or placeholder KEY_ENCRYPTION_SECRET', () => {
      const { KEY_ENCRYPTION_SECRET: _omitted, ...withoutSecret } = PRODUCTION;
      assert.equal(configError(withoutSecret).variable, 'KEY_ENCRYPTION_SECRET');
      assert.equal(configError({ ...PRODUCTION, KEY_ENCRYPTION_SECRET: 'x'.repeat(31) }).variable, 'KEY_ENCRYPTION_SECRET');
      assert.equal(configError({ ...PRODUCTION, KEY_ENCRYPTION_SECRET: 'a'.repeat(40) }).variable, 'KEY_ENCRYPTION_SECRET');
      assert.equal(configError({ ...PRODUCTION, KEY_ENCRYPTION_SECRET: 'change-me-change-me-change-me-change-me' }).variable, 'KEY_ENCRYPTION_SECRET');
    });
  });

  it('every variable config.ts reads is in the README table and in docs/configuration.md', () => {
    const source = readFileSync('src/config.ts', 'utf8');
    const names = new Set([...source.matchAll(/\(env, '([A-Z][A-Z0-9_]+)'/g)].map((m) => m[1]));
    assert.ok(names.size >= 30, `found only ${names.size} variables in src/config.ts`);
    const readme = readFileSync('README.md', 'utf8');
    const docs = readFileSync('docs/configuration.md', 'utf8');
    for (const name of names) {
      assert.ok(readme.includes(`| \`${name}\` |`), `README.md's configuration table lacks ${name}`);
      assert.ok(docs.includes(`\`${name}\``), `docs/configuration.md lacks ${name}`);
    }
  });
});
