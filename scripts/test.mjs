#!/usr/bin/env node
// `npm test`: build once (process tests start the built server), then every suite.
// Suites under test/serial/ (timing, overload, crash) run afterwards, one at a time, alone.
// Then, when PostgreSQL is reachable, test/http runs again on PostgreSQL (a fresh database per server).
//
// A suite that needs a service says so in its first lines: `// @requires postgres` or
// `// @requires postgres, redis`. When a service is not reachable its suites are skipped and the
// run says so plainly; with GATEHOUSE_REQUIRE_SERVICES=1 (CI) that is a failure instead.
// `node scripts/test.mjs FILE…` runs just those files (on TEST_DATABASE_URL when set).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import Redis from 'ioredis';
import pg from 'pg';

const POSTGRES_URL = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const REQUIRE_SERVICES = process.env.GATEHOUSE_REQUIRE_SERVICES === '1';

function run(command, args, env = {}) {
  const result = spawnSync(command, args, { stdio: 'inherit', env: { ...process.env, ...env } });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

function files(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true })
    .map(String)
    .filter((f) => f.endsWith('.test.ts'))
    .map((f) => join(dir, f))
    .sort();
}

/** The services a suite declares in its first lines (`// @requires postgres, redis`). */
function requirements(file) {
  const head = readFileSync(file, 'utf8').split('\n', 5).join('\n');
  const match = /^\/\/ @requires (.+)$/m.exec(head);
  return match ? match[1].split(',').map((s) => s.trim()).filter(Boolean) : [];
}

function withoutPassword(url) {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = '***';
  return parsed.toString();
}

async function probePostgres() {
  const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 3000 });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('select 1');
    return null;
  } catch (error) {
    return `PostgreSQL is not reachable at ${withoutPassword(POSTGRES_URL)} (${error.code ?? error.message}); set TEST_POSTGRES_URL or start it`;
  } finally {
    await client.end().catch(() => {});
  }
}

async function probeRedis() {
  const client = new Redis(REDIS_URL, { lazyConnect: true, connectTimeout: 3000, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
  let cause = null;
  client.on('error', (error) => {
    cause ??= error;
  });
  try {
    await client.connect();
    await client.ping();
    return null;
  } catch (error) {
    const reason = cause ?? error;
    return `Redis is not reachable at ${withoutPassword(REDIS_URL)} (${reason.code ?? reason.message}); set TEST_REDIS_URL or start it`;
  } finally {
    client.disconnect();
  }
}

const only = process.argv.slice(2);
run('npm', ['run', '--silent', 'build']);
if (only.length > 0) {
  run(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', ...only]);
  process.exit(0);
}

const down = { postgres: await probePostgres(), redis: await probeRedis() };
const serviceEnv = {
  ...(down.postgres ? {} : { TEST_POSTGRES_URL: POSTGRES_URL }),
  ...(down.redis ? {} : { TEST_REDIS_URL: REDIS_URL }),
};
const skipped = [];

/** Files whose services are all up; the rest are recorded as skipped, with the reason. */
function runnable(list, label = '') {
  return list.filter((file) => {
    const missing = requirements(file).filter((service) => down[service]);
    if (missing.length === 0) return true;
    skipped.push(`${file}${label} (needs ${missing.join(' and ')})`);
    return false;
  });
}

const parallel = runnable(['unit', 'http', 'storage', 'e2e', 'process', 'scaleout'].flatMap((d) => files(join('test', d))));
const serial = runnable(files(join('test', 'serial')));
const httpOnPostgres = down.postgres ? [] : runnable(files(join('test', 'http')), ' (on PostgreSQL)');
if (down.postgres) skipped.push('test/http/** on PostgreSQL (needs postgres)');

function reportSkipped() {
  if (skipped.length === 0) return;
  const reasons = Object.values(down).filter(Boolean);
  process.stderr.write(`\nSKIPPED ${skipped.length} suite(s): ${reasons.join('; ')}.\n${skipped.map((s) => `  - ${s}`).join('\n')}\n`);
  if (REQUIRE_SERVICES) process.stderr.write('GATEHOUSE_REQUIRE_SERVICES=1: a skipped suite is a failure.\n');
}

if (REQUIRE_SERVICES && skipped.length > 0) {
  reportSkipped();
  process.exit(1);
}
reportSkipped();

run(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', ...parallel], serviceEnv);
for (const file of serial) run(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', file], serviceEnv);
if (httpOnPostgres.length > 0) {
  process.stdout.write(`\n# test/http again on PostgreSQL (${withoutPassword(POSTGRES_URL)}, a fresh database per server)\n`);
  run(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', ...httpOnPostgres], { ...serviceEnv, TEST_DATABASE_URL: POSTGRES_URL });
}
reportSkipped();
