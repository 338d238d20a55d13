#!/usr/bin/env node
// `npm test`: build once (process tests start the built server), then every stage:
//   1. browser, process, scale-out, unit, storage and HTTP suites, two files at a time;
//   2. test/serial/ (timing, overload, crash), one file at a time, alone;
//   3. test/http again on PostgreSQL (a fresh database per server), but for the suites marked
//      `// @database-independent` (the HTTP layer alone).
// Every stage runs even when an earlier one failed; the run ends with one total across all of
// them ("N passed, N failed, N skipped") and exits non-zero on any failure.
//
// A suite that needs a service says so in its first lines: `// @requires postgres` or
// `// @requires postgres, redis`. When a service is not reachable its suites are skipped and the
// run says so plainly (and counts them as skipped); with GATEHOUSE_REQUIRE_SERVICES=1 (CI) that
// is a failure instead.
// `node scripts/test.mjs FILE…` runs just those files (on TEST_DATABASE_URL when set).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import Redis from 'ioredis';
import pg from 'pg';

const POSTGRES_URL = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const REQUIRE_SERVICES = process.env.GATEHOUSE_REQUIRE_SERVICES === '1';

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

/**
 * Whether a suite says it tests only the HTTP layer (`// @database-independent: why` in its first
 * lines): the PostgreSQL stage skips it, as it would run the same requests over another database
 * for nothing.
 */
function databaseIndependent(file) {
  return /^\/\/ @database-independent\b/m.test(readFileSync(file, 'utf8').split('\n', 5).join('\n'));
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

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === 'EPERM';
  }
}

/**
 * Test databases are named gh_test_<pid>_<random> by the process that made them (test/helpers/database.ts).
 * A run that was killed never dropped its own: drop those whose process is gone (and old unnamed ones).
 */
async function dropOrphanedDatabases() {
  const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 3000 });
  client.on('error', () => {});
  try {
    await client.connect();
    const { rows } = await client.query("SELECT datname FROM pg_database WHERE datname LIKE 'gh\\_test\\_%'");
    const orphans = rows.map((r) => r.datname).filter((name) => {
      const pid = /^gh_test_(\d+)_[0-9a-f]+$/.exec(name)?.[1];
      return pid === undefined || !alive(Number(pid));
    });
    for (const name of orphans) {
      await client.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1', [name]);
      await client.query(`DROP DATABASE IF EXISTS "${name}"`);
    }
    if (orphans.length > 0) process.stdout.write(`# dropped ${orphans.length} test database(s) left by killed runs\n`);
  } finally {
    await client.end().catch(() => {});
  }
}

const totals = { passed: 0, failed: 0, skipped: 0 };
const failedStages = [];

/**
 * Run node's test runner on some files, passing its output through, and add its closing counts
 * to the totals. A runner that dies without its summary counts as one failure.
 */
function stage(label, args, env = {}) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--test', ...args], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...env } });
    const counts = {};
    let pending = '';
    child.stdout.on('data', (chunk) => {
      process.stdout.write(chunk);
      pending += chunk.toString();
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        const match = /^# (pass|fail|skipped|cancelled|todo) (\d+)$/.exec(line);
        if (match) counts[match[1]] = Number(match[2]);
      }
    });
    child.on('close', (code) => {
      const summarised = counts.pass !== undefined;
      totals.passed += counts.pass ?? 0;
      totals.failed += (counts.fail ?? 0) + (counts.cancelled ?? 0) + (summarised || code === 0 ? 0 : 1);
      totals.skipped += (counts.skipped ?? 0) + (counts.todo ?? 0);
      if (code !== 0 || (counts.fail ?? 0) > 0) failedStages.push(label);
      resolve();
    });
  });
}

const build = spawnSync('npm', ['run', '--silent', 'build'], { stdio: 'inherit' });
if (build.status !== 0) {
  process.stdout.write('\n0 passed, 1 failed, 0 skipped\n');
  process.exit(build.status ?? 1);
}

const only = process.argv.slice(2);
if (only.length > 0) {
  await stage('selected files', ['--test-concurrency=2', ...only]);
  process.stdout.write(`\n${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped\n`);
  process.exit(failedStages.length > 0 ? 1 : 0);
}

const down = { postgres: await probePostgres(), redis: await probeRedis() };
const serviceEnv = {
  ...(down.postgres ? {} : { TEST_POSTGRES_URL: POSTGRES_URL }),
  ...(down.redis ? {} : { TEST_REDIS_URL: REDIS_URL }),
};
if (!down.postgres) await dropOrphanedDatabases();
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

// The long suites (browsers, started processes) first, so the short ones fill both lanes at the end
// instead of one long suite running alone.
const parallel = runnable(['e2e', 'process', 'scaleout', 'unit', 'storage', 'http'].flatMap((d) => files(join('test', d))));
const serial = runnable(files(join('test', 'serial')));
const httpOnPostgres = down.postgres ? [] : runnable(files(join('test', 'http')).filter((file) => !databaseIndependent(file)), ' (on PostgreSQL)');
if (down.postgres) skipped.push(...files(join('test', 'http')).map((file) => `${file} (on PostgreSQL) (needs postgres)`));

function reportSkipped() {
  if (skipped.length === 0) return;
  const reasons = Object.values(down).filter(Boolean);
  process.stderr.write(`\nSKIPPED ${skipped.length} suite(s): ${reasons.join('; ')}.\n${skipped.map((s) => `  - ${s}`).join('\n')}\n`);
  if (REQUIRE_SERVICES) process.stderr.write('GATEHOUSE_REQUIRE_SERVICES=1: a skipped suite is a failure.\n');
}

reportSkipped();
if (REQUIRE_SERVICES && skipped.length > 0) failedStages.push('required services');
else totals.skipped += skipped.length;

// Two files at a time, one per core: measured, a third made the run no shorter (the suites are
// CPU-bound here: Chromium, started processes) and the PostgreSQL stage longer.
const CONCURRENCY = '--test-concurrency=2';
if (parallel.length > 0) await stage('unit, http, storage, e2e, process, scaleout', [CONCURRENCY, ...parallel], serviceEnv);
for (const file of serial) await stage(file, ['--test-concurrency=1', file], serviceEnv);
if (httpOnPostgres.length > 0) {
  const httpOnly = files(join('test', 'http')).filter(databaseIndependent);
  process.stdout.write(`\n# test/http again on PostgreSQL (${withoutPassword(POSTGRES_URL)}, a fresh database per server), but for ${httpOnly.length} HTTP-layer suites: ${httpOnly.map((f) => f.replace(/^test\/http\//, '')).join(', ')}\n`);
  await stage('test/http on PostgreSQL', [CONCURRENCY, ...httpOnPostgres], { ...serviceEnv, TEST_DATABASE_URL: POSTGRES_URL });
}

reportSkipped();
if (REQUIRE_SERVICES && skipped.length > 0) totals.failed += skipped.length;
if (failedStages.length > 0) process.stdout.write(`\n# failed stages: ${failedStages.join('; ')}\n`);
process.stdout.write(`\n${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped\n`);
process.exit(failedStages.length > 0 ? 1 : 0);
