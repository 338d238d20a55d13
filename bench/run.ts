/**
 * `npm run bench`: the benchmark of issue 7. Starts the real server (node dist/src/main.js, the
 * production entry) on a fresh database, seeds users, drives the workloads with autocannon over
 * loopback, prints a table against the targets and writes JSON (and a Markdown table) to
 * bench/results/. docs/benchmarks.md explains every figure.
 *
 *   npm run bench -- [--quick] [--db sqlite|postgres] [--workers N] [--duration S] [--rounds R]
 *                    [--soak S] [--only floor,W3,FA,…] [--profile] [--sizes 1000,100000,1000000]
 *                    [--env NAME=VALUE] [--out FILE]
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import bcrypt from 'bcrypt';
import type { Config } from '../src/config.js';
import type { KeyVault } from '../src/tokens/keys.js';
import { postgresDatabase, seedUsername, sqliteDatabase } from './database.js';
import type { BenchDatabase } from './database.js';
import { describe, runLoad, warmUp } from './load.js';
import type { LoadResult, LoadSpec } from './load.js';
import { killAllNow, rssOfTree, sleep } from './processes.js';
import { gitState, machine, renderMarkdown, renderTable, rows } from './report.js';
import type { HashCost, Results, Soak } from './report.js';
import { interleave, median, roundSeconds } from './rounds.js';
import { accessToken, baseEnv, Bench, drainHashQueue, loginCookie, ROOT, SERVER_ENTRY, startBareServer, startGatehouse, twoStepLogin } from './servers.js';
import type { Server } from './servers.js';
import { sizeRun } from './sizes.js';
import { PROFILE_DIR, summarizeProfile } from './top-functions.js';
import {
  CHECK_USERS,
  checkSpec,
  FA_HOST,
  forwardAuthHeaders,
  loginSpec,
  measure,
  say,
  SEED_PASSWORD,
  signupSpec,
  spread,
  TOTP_SECRET,
  totpPoolSize,
  TotpUsers,
  twoStepLoginSpec,
  unknownUserSpec,
  wrongPasswordSpec,
} from './workloads.js';

const RESULTS_DIR = join(ROOT, 'bench', 'results');
const CLI_ENTRY = join(ROOT, 'dist', 'src', 'cli', 'main.js');

/** W5 runs this many times the per-workload duration (see there). */
const W5_DURATION_FACTOR = 3;

const WORKLOADS = ['floor', 'W1', 'W2', 'W3', 'W3b', 'FA', 'W4', 'W7', 'W5', 'W6', 'soak'] as const;
type Workload = (typeof WORKLOADS)[number];

const USAGE = `Usage: npm run bench -- [options]

  --quick              2 s per workload (3 s for the interleaved ones), one round, W6 at 1 k and 10 k users,
                       a 10 s soak: checks the harness, not the targets
  --duration S         seconds per workload (default 10); floor, W3, W3b, FA and W6 share them out over the rounds
  --rounds R           interleaved rounds of floor/W3/W3b/FA and of W6's sizes, each at least 3 s (default 5)
  --db sqlite|postgres database (default sqlite; postgres creates and drops a database on 127.0.0.1:5432)
  --postgres-url URL   where to create it (default postgres://postgres@127.0.0.1:5432/test; loopback only)
  --workers N          WORKERS for the server (default: the server's own default)
  --soak S             RSS growth over an S-second W3 run (default off; the issue's figure is --soak 300)
  --sizes A,B,C        users in the database for W6 (default 1000,100000,1000000)
  --only LIST          run only these of ${WORKLOADS.join(',')}
  --profile            run the main server under node --cpu-prof (profiles in bench/results/profiles)
  --env NAME=VALUE     extra server setting, repeatable (the run is then not the default configuration)
  --out FILE           JSON results (default bench/results/<timestamp>.json; a .md table is written beside it)`;

interface Options {
  quick: boolean;
  duration: number;
  rounds: number;
  warmup: number;
  db: 'sqlite' | 'postgres';
  postgresUrl: string;
  workers: number | null;
  soak: number;
  sizes: number[];
  only: Set<Workload>;
  profile: boolean;
  env: Record<string, string>;
  out: string;
}

function fail(message: string): never {
  process.stderr.write(`bench: ${message}\n`);
  process.exit(2);
}

function positiveInteger(name: string, raw: string): number {
  if (!/^\d+$/.test(raw) || Number(raw) < 1) fail(`${name} must be a positive integer, got "${raw}"`);
  return Number(raw);
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean', default: false },
      duration: { type: 'string' },
      rounds: { type: 'string' },
      db: { type: 'string', default: 'sqlite' },
      'postgres-url': { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/test' },
      workers: { type: 'string' },
      soak: { type: 'string' },
      sizes: { type: 'string' },
      only: { type: 'string' },
      profile: { type: 'boolean', default: false },
      env: { type: 'string', multiple: true, default: [] },
      out: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const quick = values.quick;
  if (values.db !== 'sqlite' && values.db !== 'postgres') fail(`--db must be sqlite or postgres, got "${values.db}"`);
  const host = new URL(values['postgres-url']).hostname;
  if (!['127.0.0.1', 'localhost', '[::1]'].includes(host)) fail('--postgres-url must point at a loopback address');
  const sizes = (values.sizes ?? (quick ? '1000,10000' : '1000,100000,1000000')).split(',').map((s) => positiveInteger('--sizes', s.trim()));
  if (sizes.some((size, i) => i > 0 && size <= (sizes[i - 1] ?? 0))) fail('--sizes must be increasing');
  const only = new Set<Workload>();
  for (const name of (values.only ?? WORKLOADS.join(',')).split(',').map((s) => s.trim())) {
    const workload = WORKLOADS.find((w) => w.toLowerCase() === name.toLowerCase());
    if (!workload) fail(`--only: unknown workload "${name}" (known: ${WORKLOADS.join(', ')})`);
    only.add(workload);
  }
  const env: Record<string, string> = {};
  for (const pair of values.env) {
    const match = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(pair);
    if (!match?.[1]) fail(`--env expects NAME=VALUE, got "${pair}"`);
    env[match[1]] = match[2] ?? '';
  }
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  return {
    quick,
    duration: values.duration ? positiveInteger('--duration', values.duration) : quick ? 2 : 10,
    rounds: values.rounds ? positiveInteger('--rounds', values.rounds) : quick ? 1 : 5,
    warmup: quick ? 1 : 5,
    db: values.db,
    postgresUrl: values['postgres-url'],
    workers: values.workers ? positiveInteger('--workers', values.workers) : null,
    soak: values.soak !== undefined ? (values.soak === '0' ? 0 : positiveInteger('--soak', values.soak)) : quick ? 10 : 0,
    sizes,
    only,
    profile: values.profile,
    env,
    out: resolve(values.out ?? join(RESULTS_DIR, `${stamp}${quick ? '-quick' : ''}.json`)),
  };
}

/** Newest modification time under `dir` of files ending in `ext`. */
function newestMtime(dir: string, ext: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { recursive: true })) {
    const path = join(dir, String(entry));
    if (path.endsWith(ext)) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

/** `npm run build` when dist/ is missing or older than the sources, so a fresh clone works after `npm ci`. */
function ensureBuilt(): void {
  const built = existsSync(SERVER_ENTRY) ? statSync(SERVER_ENTRY).mtimeMs : 0;
  const sources = Math.max(newestMtime(join(ROOT, 'src'), '.ts'), statSync(join(ROOT, 'tsconfig.json')).mtimeMs, statSync(join(ROOT, 'tsconfig.build.json')).mtimeMs);
  if (built >= sources) return;
  say(built === 0 ? 'dist/ is missing: npm run build' : 'dist/ is older than src/: npm run build');
  const result = spawnSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'inherit' });
  if (result.status !== 0) fail('npm run build failed');
}

/** One bcrypt hash at the configured cost, in this process, one at a time; the first is a warm-up. Also returns a hash to seed with. */
async function measureHash(cost: number, samples: number): Promise<{ hash: string; cost: HashCost }> {
  let hash = await bcrypt.hash(SEED_PASSWORD, cost);
  const samplesMs: number[] = [];
  for (let i = 0; i < samples; i += 1) {
    const start = process.hrtime.bigint();
    hash = await bcrypt.hash(SEED_PASSWORD, cost);
    samplesMs.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  const medianMs = median(samplesMs);
  const cores = availableParallelism();
  return { hash, cost: { cost, samplesMs, medianMs, cores, limitPerSecond: cores / (medianMs / 1000) } };
}

type CheckWorkload = 'floor' | 'W3' | 'W3b' | 'FA';

/**
 * The floor (the bare server, same connections and headers as W3), W3, W3b and FA, those of them
 * that were asked for. Two or more run in interleaved rounds with both servers up, so "W3 ÷ floor"
 * compares runs seconds apart; one alone runs for the whole duration, as any other workload.
 */
async function checkRun(
  bench: Bench,
  options: Options,
  results: Results,
  server: Server,
  body: string,
  cookieHeaders: Array<Record<string, string>>,
  bearerHeaders: Array<Record<string, string>>,
): Promise<void> {
  const { origin } = server;
  const names = (['floor', 'W3', 'W3b', 'FA'] as const).filter((name) => options.only.has(name));
  if (names.length === 0) return;
  const bare = names.includes('floor') ? await startBareServer(bench, body) : null;
  const spec = (name: CheckWorkload, seconds: number): LoadSpec => {
    const serverPid = server.process.pid;
    if (name === 'floor') return { ...checkSpec('floor (bare Fastify route)', bare?.origin ?? '', seconds, '/check_session', cookieHeaders), ...(bare ? { serverPid: bare.process.pid } : {}) };
    if (name === 'W3') return { ...checkSpec('W3 session checks', origin, seconds, '/check_session', cookieHeaders), serverPid };
    if (name === 'FA') return { ...checkSpec('FA forward-auth checks', origin, seconds, '/api/authz/forward-auth', forwardAuthHeaders(cookieHeaders)), serverPid };
    return { ...checkSpec('W3b bearer checks', origin, seconds, '/api/me', bearerHeaders), serverPid };
  };
  try {
    const [only] = names;
    if (names.length === 1 && only) {
      results[only] = await measure(spec(only, options.duration), options.warmup);
      return;
    }
    const seconds = roundSeconds(options.duration, options.rounds);
    const specs = names.map((name) => spec(name, seconds));
    say(`→ ${names.join(', ')} side by side: ${options.rounds} interleaved round(s) of ${seconds.toFixed(1)} s each (after a ${options.warmup} s warm-up each)`);
    for (const one of specs) await warmUp(one, options.warmup);
    const measured = await interleave(specs, options.rounds);
    for (const [i, name] of names.entries()) results[name] = measured[i];
  } finally {
    await bare?.process.stop();
  }
}

/**
 * Phase 1: one server on the base population, every workload except W6. `totpUsers`: W7's users
 * with TOTP on, seeded beyond the base population (null when W7 is not asked for).
 */
async function mainRun(bench: Bench, options: Options, results: Results, baseUsers: number, totpUsers: TotpUsers | null): Promise<void> {
  const run = (w: Workload) => options.only.has(w);
  const server = await startGatehouse(bench, 'main', options.profile);
  const { origin } = server;
  const drain = () => drainHashQueue(origin, results.hash.medianMs);
  const d = options.duration;
  try {
    await sleep(1000);
    results.idleRss = rssOfTree(server.process.pid) ?? undefined;
    if (results.idleRss) say(`idle RSS after seeding: ${results.idleRss.totalMb.toFixed(1)} MB (${results.idleRss.processes.length} process(es))`);

    const users = spread(CHECK_USERS, baseUsers).map(seedUsername);
    say(`logging in ${users.length} users for the session and bearer checks`);
    const cookieHeaders: Array<Record<string, string>> = [];
    for (const user of users) cookieHeaders.push({ cookie: await loginCookie(origin, user) });
    const bearerHeaders: Array<Record<string, string>> = [];
    if (run('W3b')) for (const user of users) bearerHeaders.push({ authorization: `Bearer ${await accessToken(origin, user)}` });
    const check = await fetch(`${origin}/check_session`, { headers: cookieHeaders[0] ?? {} });
    const checkBody = await check.text();
    if (check.status !== 200) throw new Error(`GET /check_session with a fresh login cookie answered ${check.status}`);
    if (run('FA')) {
      const forward = await fetch(`${origin}/api/authz/forward-auth`, { headers: forwardAuthHeaders(cookieHeaders.slice(0, 1))[0] ?? {}, redirect: 'manual' });
      if (forward.status !== 200 || !forward.headers.get('remote-user')) throw new Error(`GET /api/authz/forward-auth with a fresh login cookie answered ${forward.status}`);
    }

    await checkRun(bench, options, results, server, checkBody, cookieHeaders, bearerHeaders);
    if (run('W2')) {
      results.W2 = await measure(loginSpec(origin, d, baseUsers));
      await drain();
    }
    if (run('W4')) {
      say(`→ W4: W3 and W2 at the same time, ${d} s`);
      const [checks, logins] = await Promise.all([
        runLoad(checkSpec('W4 session checks during a login storm', origin, d, '/check_session', cookieHeaders)),
        runLoad({ ...loginSpec(origin, d, baseUsers), title: 'W4 logins during the storm' }),
      ]);
      say(`  checks: ${describe(checks)}`);
      say(`  logins: ${describe(logins)}`);
      results.W4 = { checks, logins };
      await drain();
    }
    if (run('W7') && totpUsers) {
      await twoStepLogin(origin, totpUsers);
      say(`→ W7: W3 and a storm of two-step logins (password, then a TOTP code) at the same time, ${d} s, over ${totpUsers.count.toLocaleString('en-US')} TOTP users`);
      const [checks, logins] = await Promise.all([
        runLoad(checkSpec('W7 session checks during a two-step login storm', origin, d, '/check_session', cookieHeaders)),
        runLoad(twoStepLoginSpec(origin, d, totpUsers)),
      ]);
      say(`  checks: ${describe(checks)}`);
      say(`  two-step logins: ${describe(logins)}`);
      results.W7 = { checks, logins };
      await drain();
    }
    if (run('W5')) {
      // Side by side, one connection each, so both kinds meet the same machine at the same time; three
      // times the duration, because a mean of ~40 hash-long answers moves by more than the 5 % target
      // from one run to the next on this machine, and of ~130 by about 2 %.
      const w5 = W5_DURATION_FACTOR * d;
      say(`→ W5: wrong password and unknown user, one connection each, side by side, ${w5} s`);
      const [wrongPassword, unknownUser] = await Promise.all([runLoad(wrongPasswordSpec(origin, w5, baseUsers)), runLoad(unknownUserSpec(origin, w5))]);
      say(`  wrong password: ${describe(wrongPassword)}`);
      say(`  unknown user:   ${describe(unknownUser)}`);
      results.W5 = { wrongPassword, unknownUser };
      await drain();
    }
    if (run('W1')) {
      results.W1 = await measure(signupSpec(origin, d));
      await drain();
    }
    if (run('soak') && options.soak > 0) results.soak = await soak(server, options.soak, cookieHeaders);
    await sleep(1000);
    results.finalRss = rssOfTree(server.process.pid) ?? undefined;
  } finally {
    await server.process.stop();
  }
}

/** W3 for `seconds`, sampling the server's RSS every second; growth is measured from the sample at 10 % of the run. */
async function soak(server: Server, seconds: number, cookieHeaders: Array<Record<string, string>>): Promise<Soak> {
  say(`→ soak: W3 for ${seconds} s, RSS sampled every second`);
  const samples: Soak['samples'] = [];
  const start = Date.now();
  const timer = setInterval(() => {
    const rss = rssOfTree(server.process.pid);
    if (rss) samples.push({ t: Math.round((Date.now() - start) / 100) / 10, totalMb: rss.totalMb, maxProcessMb: rss.maxProcessMb });
  }, 1000);
  let checks: LoadResult;
  try {
    checks = await runLoad(checkSpec('soak (W3)', server.origin, seconds, '/check_session', cookieHeaders));
  } finally {
    clearInterval(timer);
  }
  // The first seconds are the heap growing to its working size, not a leak.
  const after = Math.max(1, seconds * 0.1);
  const baseline = samples.find((s) => s.t >= after) ?? samples[0];
  const final = samples[samples.length - 1];
  const baselineMb = baseline?.totalMb ?? 0;
  const finalMb = final?.totalMb ?? 0;
  const growth = baselineMb > 0 ? finalMb / baselineMb - 1 : 0;
  say(`  ${describe(checks)}; RSS ${baselineMb.toFixed(1)} MB at ${baseline?.t ?? 0} s → ${finalMb.toFixed(1)} MB at ${final?.t ?? 0} s (${(growth * 100).toFixed(1)} %)`);
  return { seconds, samples, baselineMb, finalMb, growth, checks };
}

/**
 * W7's users: `seed<base+1>` … beyond the base population, which W2, W4 and W5 cycle through and
 * W3 picks from, so their one-step logins never meet a second step. All share TOTP_SECRET, sealed
 * with the server's own KeyVault (from dist/, as loadConfig) under the purpose src/composition.ts
 * gives TOTP secrets: ciphertext when KEY_ENCRYPTION_SECRET is set, else the plain base32 the
 * server then reads as is.
 */
async function seedTotpUsers(database: BenchDatabase, config: Readonly<Config>, base: number, passwordHash: string, loginLimitPerSecond: number): Promise<TotpUsers> {
  const { KeyVault: Vault } = (await import(pathToFileURL(join(ROOT, 'dist', 'src', 'tokens', 'keys.js')).href)) as { KeyVault: typeof KeyVault };
  const count = totpPoolSize(loginLimitPerSecond);
  const start = Date.now();
  await database.seedUsers(base, base + count, passwordHash);
  await database.enableTotp(base, base + count, new Vault(config.keyEncryptionSecret, 'totp-secret-encryption').seal(TOTP_SECRET));
  say(
    `W7: ${count.toLocaleString('en-US')} more users with TOTP on (seed${base + 1} … seed${base + count}, one shared secret) in ${((Date.now() - start) / 1000).toFixed(1)} s; ` +
      `${(count / loginLimitPerSecond).toFixed(0)} s of logins at the physical limit before one comes round again`,
  );
  return new TotpUsers(base + 1, count);
}

function newProfiles(since: number): string[] {
  if (!existsSync(PROFILE_DIR)) return [];
  return readdirSync(PROFILE_DIR)
    .filter((f) => f.endsWith('.cpuprofile'))
    .map((f) => join(PROFILE_DIR, f))
    .filter((f) => statSync(f).mtimeMs >= since);
}

async function main(): Promise<number> {
  const options = parseOptions(process.argv.slice(2));
  const startedAt = Date.now();
  ensureBuilt();
  const { loadConfig } = (await import(pathToFileURL(join(ROOT, 'dist', 'src', 'config.js')).href)) as { loadConfig: (env: NodeJS.ProcessEnv) => Readonly<Config> };

  // The default configuration, except the abuse limits, which would refuse a benchmark's logins.
  const serverEnv: NodeJS.ProcessEnv = {
    ...baseEnv(),
    HOST: '127.0.0.1',
    RATE_LIMITS: 'off',
    // FA needs a protected host; the setting changes nothing else the other workloads measure.
    ...(options.only.has('FA') ? { FORWARD_AUTH_HOSTS: FA_HOST } : {}),
    ...(options.workers !== null ? { WORKERS: String(options.workers) } : {}),
    ...options.env,
  };
  const config = loadConfig({ ...serverEnv, DATABASE_URL: 'sqlite::memory:' });
  const bench = new Bench(config, serverEnv);

  let interrupted = false;
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      if (interrupted) return;
      interrupted = true;
      say(`\nbench: ${signal}: stopping the servers and removing the databases`);
      void bench.cleanup().finally(() => process.exit(130));
    });
  }
  process.on('exit', killAllNow);

  const host = machine();
  say(`Gatehouse benchmark${options.quick ? ' (--quick: checks the harness; the numbers do not judge the targets)' : ''}`);
  say(`machine: ${host.nproc} cores, ${host.cpuModel}, ${host.memoryGb} GB, Node ${host.node}`);
  say(
    `server: node dist/src/main.js on ${options.db}, WORKERS=${config.workers}, BCRYPT_COST=${config.bcryptCost}, ` +
      `HASH_CONCURRENCY=${config.hashConcurrency}, HASH_QUEUE_MAX=${config.hashQueueMax}, LOG_LEVEL=${config.logLevel}`,
  );
  say('        RATE_LIMITS=off: the per-account and per-IP abuse limits are off for this run (they would refuse the load); every other setting is the default');
  if (options.only.has('FA')) say(`        FORWARD_AUTH_HOSTS=${FA_HOST}: the protected host FA asks about`);
  if (Object.keys(options.env).length > 0) say(`        NOT the default configuration: ${Object.entries(options.env).map(([k, v]) => `${k}=${v}`).join(' ')}`);

  const base = options.sizes[0] ?? 1000;
  let results: Results | null = null;
  let failure: string | null = null;
  try {
    say(`measuring one bcrypt hash at cost ${config.bcryptCost} in this process…`);
    const { hash, cost } = await measureHash(config.bcryptCost, options.quick ? 3 : 7);
    say(`  median ${cost.medianMs.toFixed(1)} ms → physical limit ${cost.limitPerSecond.toFixed(1)} logins/s on ${cost.cores} cores`);
    results = { hash: cost };

    bench.database = options.db === 'postgres' ? await postgresDatabase(options.postgresUrl) : sqliteDatabase(bench.tmp);
    const migrated = spawnSync(process.execPath, [CLI_ENTRY, 'migrate'], { cwd: bench.tmp, env: { ...serverEnv, DATABASE_URL: bench.database.url }, encoding: 'utf8', timeout: 120_000 });
    if (migrated.status !== 0) throw new Error(`gatehouse migrate failed: ${migrated.stderr || migrated.stdout}`);
    const seedStart = Date.now();
    await bench.database.seedUsers(0, base, hash);
    say(`fresh ${options.db} database, ${base.toLocaleString('en-US')} users seeded in ${((Date.now() - seedStart) / 1000).toFixed(1)} s (all with one shared bcrypt hash)`);
    // W6's smallest database: a copy taken now, before the main run's logins and signups add rows to this one.
    const w6Base = options.only.has('W6') ? bench.track(await bench.database.clone(`w6-${base}`)) : null;
    // After the copy, so W6's sizes stay plain users.
    const totpUsers = options.only.has('W7') ? await seedTotpUsers(bench.database, config, base, hash, cost.limitPerSecond) : null;

    const mainWorkloads: Workload[] = ['floor', 'W1', 'W2', 'W3', 'W3b', 'FA', 'W4', 'W7', 'W5', 'soak'];
    if (mainWorkloads.some((w) => options.only.has(w))) await mainRun(bench, options, results, base, totpUsers);
    if (w6Base) results.W6 = await sizeRun(bench, options, w6Base, hash);
  } catch (error) {
    // What was measured before the failure is still worth a table.
    failure = error instanceof Error ? error.message : String(error);
  } finally {
    await bench.cleanup(`${options.out.replace(/\.json$/, '')}-logs`);
  }
  if (!results) throw new Error(failure ?? 'no results');

  const table = rows(results, options.only.has('soak'));
  say('');
  say(renderTable(table));
  const git = gitState(ROOT);
  const report = {
    benchmark: 'gatehouse issue 7',
    date: new Date(startedAt).toISOString(),
    seconds: Math.round((Date.now() - startedAt) / 1000),
    quick: options.quick,
    ...(failure ? { failure } : {}),
    machine: host,
    git,
    options: { ...options, only: [...options.only] },
    server: {
      entry: 'node dist/src/main.js',
      database: options.db,
      workers: config.workers,
      bcryptCost: config.bcryptCost,
      hashConcurrency: config.hashConcurrency,
      hashQueueMax: config.hashQueueMax,
      logLevel: config.logLevel,
      rateLimits: false,
      extraEnv: options.env,
      profile: options.profile,
    },
    rows: table,
    results,
  };
  mkdirSync(dirname(options.out), { recursive: true });
  writeFileSync(options.out, `${JSON.stringify(report, null, 2)}\n`);
  const markdown = `${options.out.replace(/\.json$/, '')}.md`;
  const heading =
    `Run ${report.date}${options.quick ? ' (--quick)' : ''}: ${host.nproc} cores, ${host.cpuModel}, Node ${host.node}, ${options.db}, ` +
    `WORKERS=${config.workers}, BCRYPT_COST=${config.bcryptCost}, commit ${git.commit?.slice(0, 10) ?? 'unknown'}${git.dirty ? ' (with local changes)' : ''}`;
  writeFileSync(markdown, `${heading}\n\n${renderMarkdown(table)}\n`);
  say('');
  say(`results: ${relative(process.cwd(), options.out)} and ${relative(process.cwd(), markdown)}`);
  if (options.profile) {
    const profiles = newProfiles(startedAt);
    say(`profiles (${profiles.length}) in ${relative(process.cwd(), PROFILE_DIR)}; read one with node --import tsx bench/top-functions.ts FILE, or open it in Chrome DevTools`);
    // Cluster primaries and idle hash threads write near-empty profiles; show the busiest one.
    const busiest = profiles.sort((a, b) => statSync(b).size - statSync(a).size)[0];
    if (busiest) say(`\n${summarizeProfile(busiest)}`);
  }
  if (failure) {
    process.stderr.write(`bench: stopped early: ${failure}\n`);
    return 1;
  }
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`bench: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
