/**
 * `npm run bench`: the benchmark of issue 7. Starts the real server (node dist/src/main.js, the
 * production entry) on a fresh database, seeds users, drives the workloads with autocannon over
 * loopback, prints a table against the targets and writes JSON (and a Markdown table) to
 * bench/results/. docs/benchmarks.md explains every figure.
 *
 *   npm run bench -- [--quick] [--db sqlite|postgres] [--workers N] [--duration S] [--soak S]
 *                    [--only W3,W3b,…] [--profile] [--sizes 1000,100000,1000000] [--env NAME=VALUE]
 *                    [--out FILE]
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { Request } from 'autocannon';
import bcrypt from 'bcrypt';
import type { Config } from '../src/config.js';
import { postgresDatabase, seedUsername, sqliteDatabase } from './database.js';
import type { BenchDatabase } from './database.js';
import { runLoad, warmUp } from './load.js';
import type { LoadResult, LoadSpec } from './load.js';
import { freePort, killAllNow, logTail, rssOfTree, sleep, startProcess, stopAll, waitFor } from './processes.js';
import type { Managed, RssSample } from './processes.js';
import { atLeast, atMost, gitState, machine, ratio, renderMarkdown, renderTable } from './report.js';
import type { Row } from './report.js';
import { PROFILE_DIR, summarizeProfile } from './top-functions.js';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const RESULTS_DIR = join(ROOT, 'bench', 'results');
const SERVER_ENTRY = join(ROOT, 'dist', 'src', 'main.js');
const CLI_ENTRY = join(ROOT, 'dist', 'src', 'cli', 'main.js');

const WORKLOADS = ['floor', 'W1', 'W2', 'W3', 'W3b', 'W4', 'W5', 'W6', 'soak'] as const;
type Workload = (typeof WORKLOADS)[number];

/** The password of every seeded user (one bcrypt hash shared by all of them). */
const SEED_PASSWORD = 'bench-Correct-Horse-4271';
const WRONG_PASSWORD = 'bench-Wrong-Horse-4271';
/** Logged-in users whose cookies and bearer tokens W3, W3b and W4 spread over their connections. */
const CHECK_USERS = 8;
/** Seeded sessions W6 rotates through, so the server reads the database rather than only its 1 s cache. */
const W6_SESSIONS = 1000;

const USAGE = `Usage: npm run bench -- [options]

  --quick              ${'2 s per workload, W6 at 1 k and 10 k users, a 10 s soak: checks the harness, not the targets'}
  --duration S         seconds per workload (default 10)
  --db sqlite|postgres database (default sqlite; postgres creates and drops a database on 127.0.0.1:5432)
  --postgres-url URL   where to create it (default postgres://postgres@127.0.0.1:5432/test; loopback only)
  --workers N          WORKERS for the server (default: the server's own default)
  --soak S             RSS growth over an S-second W3 run (default off; the issue's figure is --soak 300)
  --sizes A,B,C        users in the database for W6 (default 1000,100000,1000000)
  --only LIST          run only these of ${WORKLOADS.join(',')}
  --profile            run the server under node --cpu-prof (profiles in bench/results/profiles)
  --env NAME=VALUE     extra server setting, repeatable (the run is then not the default configuration)
  --out FILE           JSON results (default bench/results/<timestamp>.json; a .md table is written beside it)`;

interface Options {
  quick: boolean;
  duration: number;
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
    warmup: quick ? 1 : 3,
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

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

/** Newest modification time under `dir` of files ending in `ext`. */
function newestMtime(dir: string, ext: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { recursive: true })) {
    const path = join(dir, String(entry));
    if (!path.endsWith(ext)) continue;
    newest = Math.max(newest, statSync(path).mtimeMs);
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

/** Only what a process needs to run: the shell's Gatehouse settings (and NODE_OPTIONS) stay out. */
function baseEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const name of ['PATH', 'HOME', 'LANG', 'LC_ALL', 'TZ', 'TMPDIR', 'USER']) if (process.env[name] !== undefined) env[name] = process.env[name];
  return env;
}

interface HashCost {
  cost: number;
  samplesMs: number[];
  medianMs: number;
  cores: number;
  /** cores / hash seconds: logins per second if every core did nothing but bcrypt. */
  limitPerSecond: number;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
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

interface Soak {
  seconds: number;
  samples: Array<{ t: number; totalMb: number; maxProcessMb: number }>;
  baselineMb: number;
  finalMb: number;
  growth: number;
  checks: LoadResult;
}

interface Results {
  hash: HashCost;
  idleRss?: RssSample;
  finalRss?: RssSample;
  floor?: LoadResult;
  W1?: LoadResult;
  W2?: LoadResult;
  W3?: LoadResult;
  W3b?: LoadResult;
  W4?: { checks: LoadResult; logins: LoadResult };
  W5?: { wrongPassword: LoadResult; unknownUser: LoadResult };
  /** `hot`: W3 as it is, 8 sessions (answered mostly from the 1 s session cache); `spread`: 1000 sessions (mostly database reads). */
  W6?: Array<{ users: number; hot: LoadResult; spread: LoadResult }>;
  soak?: Soak;
}

/** Everything one run shares: options, the temporary directory, the database, the server's environment. */
class Bench {
  readonly tmp = mkdtempSync(join(tmpdir(), 'gatehouse-bench-'));
  database: BenchDatabase | null = null;
  #logs = 0;

  constructor(
    readonly options: Options,
    readonly config: Readonly<Config>,
    readonly serverEnv: NodeJS.ProcessEnv,
  ) {}

  logPath(name: string): string {
    this.#logs += 1;
    return join(this.tmp, `${String(this.#logs).padStart(2, '0')}-${name}.log`);
  }

  async cleanup(): Promise<void> {
    await stopAll();
    const database = this.database;
    this.database = null;
    if (database) await database.drop().catch((error: unknown) => say(`bench: could not drop the database: ${String(error)}`));
    rmSync(this.tmp, { recursive: true, force: true });
  }
}

interface Server {
  origin: string;
  process: Managed;
}

/** Start node dist/src/main.js and wait until every worker answers. */
async function startGatehouse(bench: Bench, label: string, profile: boolean): Promise<Server> {
  if (!bench.database) throw new Error('no database');
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const logPath = bench.logPath(`server-${label}`);
  const nodeArgs = profile ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`] : [];
  if (profile) mkdirSync(PROFILE_DIR, { recursive: true });
  const server = startProcess(`gatehouse (${label})`, process.execPath, [...nodeArgs, SERVER_ENTRY], {
    env: { ...bench.serverEnv, DATABASE_URL: bench.database.url, PORT: String(port) },
    cwd: bench.tmp,
    logPath,
  });
  let exited = false;
  void server.exited.then(() => {
    exited = true;
  });
  try {
    await waitFor(`the server (${label}) to answer`, 60_000, async () => {
      if (exited) throw new Error(`the server (${label}) exited while starting:\n${logTail(logPath)}`);
      try {
        const response = await fetch(`${origin}/check_session`);
        await response.arrayBuffer();
        return response.status === 204 ? true : undefined;
      } catch {
        return undefined;
      }
    });
    if (bench.config.workers > 1) {
      // The first worker answers before the others listen; the log has one line per listening worker.
      await waitFor(`${bench.config.workers} workers to listen`, 60_000, () => {
        const listening = readFileSync(logPath, 'utf8').split('Server listening').length - 1;
        return listening >= bench.config.workers ? true : undefined;
      });
    }
  } catch (error) {
    await server.stop();
    throw error;
  }
  return { origin, process: server };
}

async function postJson(origin: string, path: string, body: unknown): Promise<Response> {
  return fetch(`${origin}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

/** Log in the way a browser does and return the Cookie header it would send afterwards. */
async function loginCookie(origin: string, username: string): Promise<string> {
  const response = await postJson(origin, '/login', { username, password: SEED_PASSWORD });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`POST /login as ${username} answered ${response.status}: ${text}`);
  return response.headers
    .getSetCookie()
    .map((cookie) => cookie.split(';')[0] ?? '')
    .filter(Boolean)
    .join('; ');
}

async function accessToken(origin: string, username: string): Promise<string> {
  const response = await postJson(origin, '/api/token', { username, password: SEED_PASSWORD });
  const body = (await response.json()) as { access_token?: string };
  if (response.status !== 200 || !body.access_token) throw new Error(`POST /api/token as ${username} answered ${response.status}`);
  return body.access_token;
}

/**
 * Wait until the server has no logins queued for a hash. autocannon stops sending when its time is
 * up, but the server still hashes for the requests it had accepted; the next workload must not
 * start behind that backlog. A probe login that comes back within a few hash times means the
 * queue is empty.
 */
async function drainHashQueue(origin: string, hashMs: number): Promise<void> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const start = Date.now();
    const response = await postJson(origin, '/login', { username: seedUsername(1), password: WRONG_PASSWORD });
    await response.arrayBuffer();
    if (Date.now() - start < Math.max(3 * hashMs, 500)) return;
    if (Date.now() > deadline) throw new Error('the server still had logins queued 120 s after the last login workload');
  }
}

/** `count` ordinals spread evenly over 1…`of`. */
function spread(count: number, of: number): number[] {
  const n = Math.min(count, of);
  return Array.from({ length: n }, (_, i) => 1 + Math.floor((i * of) / n));
}

function checkSpec(title: string, origin: string, duration: number, path: string, headerSets: Array<Record<string, string>>): LoadSpec {
  return {
    title,
    origin,
    path,
    connections: 50,
    duration,
    // Connection i sends header set i, i+50, i+100 … in turn: prebuilt, so the load generator stays cheap.
    perConnection: (index) => {
      const mine = headerSets.filter((_, j) => j % 50 === index);
      return (mine.length > 0 ? mine : [headerSets[index % headerSets.length] ?? {}]).map((headers): Request => ({ method: 'GET', path, headers }));
    },
    expect: [200],
  };
}

function loginSpec(origin: string, duration: number, users: number): LoadSpec {
  let next = 0;
  return {
    title: 'W2 logins',
    origin,
    path: '/login',
    method: 'POST',
    connections: 16,
    duration,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: seedUsername(1), password: SEED_PASSWORD }),
    setupRequest: (request) => ({ ...request, body: JSON.stringify({ username: seedUsername(1 + (next++ % users)), password: SEED_PASSWORD }) }),
    expect: [200],
  };
}

function unexpectedStatuses(result: LoadResult, tolerated: string[] = []): Array<[string, number]> {
  return Object.entries(result.statuses).filter(([status]) => !result.expect.includes(Number(status)) && !tolerated.includes(status));
}

function describe(result: LoadResult): string {
  const others = unexpectedStatuses(result).map(([status, count]) => `${count}×${status}`);
  return (
    `${result.rps.toFixed(1)} rps, p50 ${result.latency.p50Ms.toFixed(2)} ms, p99 ${result.latency.p99Ms.toFixed(2)} ms, mean ${result.latency.meanMs.toFixed(2)} ms` +
    (result.errors > 0 ? `, ${result.errors} errors` : '') +
    (others.length > 0 ? `, other statuses: ${others.join(' ')}` : '')
  );
}

async function measure(spec: LoadSpec, warmupSeconds = 0): Promise<LoadResult> {
  say(`→ ${spec.title}: ${spec.method ?? 'GET'} ${spec.path}, ${spec.connections} connections, ${spec.duration} s${warmupSeconds > 0 ? ` (after ${warmupSeconds} s warm-up)` : ''}`);
  await warmUp(spec, warmupSeconds);
  const result = await runLoad(spec);
  say(`  ${describe(result)}`);
  return result;
}

/** Start the floor (bench/bare-server.ts) with the same number of processes as the server, measure it, stop it. */
async function measureFloor(bench: Bench, body: string, cookies: string[]): Promise<LoadResult> {
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const bare = startProcess('bare server', process.execPath, ['--import', 'tsx', join(ROOT, 'bench', 'bare-server.ts')], {
    env: { ...baseEnv(), PORT: String(port), BODY: body, WORKERS: String(bench.config.workers) },
    cwd: ROOT,
    logPath: bench.logPath('bare-server'),
  });
  try {
    await waitFor('the bare server', 30_000, async () => {
      const listening = readFileSync(bare.logPath, 'utf8').split('bare server listening').length - 1;
      return listening >= bench.config.workers ? true : undefined;
    });
    return await measure(
      checkSpec('floor (bare Fastify route)', origin, bench.options.duration, '/check_session', cookies.map((cookie) => ({ cookie }))),
      bench.options.warmup,
    );
  } finally {
    await bare.stop();
  }
}

/** Phase 1: one server on the base population, every workload except W6. */
async function mainRun(bench: Bench, results: Results, baseUsers: number): Promise<void> {
  const { options } = bench;
  const run = (w: Workload) => options.only.has(w);
  const server = await startGatehouse(bench, 'main', options.profile);
  const { origin } = server;
  const drain = () => drainHashQueue(origin, results.hash.medianMs);
  try {
    await sleep(1000);
    results.idleRss = rssOfTree(server.process.pid) ?? undefined;
    if (results.idleRss) say(`idle RSS after seeding: ${results.idleRss.totalMb.toFixed(1)} MB (${results.idleRss.processes.length} process(es))`);

    const users = spread(CHECK_USERS, baseUsers).map(seedUsername);
    say(`logging in ${users.length} users for the session and bearer checks`);
    const cookies: string[] = [];
    for (const user of users) cookies.push(await loginCookie(origin, user));
    const tokens: string[] = [];
    if (run('W3b')) for (const user of users) tokens.push(await accessToken(origin, user));
    const check = await fetch(`${origin}/check_session`, { headers: { cookie: cookies[0] ?? '' } });
    const checkBody = await check.text();
    if (check.status !== 200) throw new Error(`GET /check_session with a fresh login cookie answered ${check.status}`);

    const cookieHeaders = cookies.map((cookie) => ({ cookie }));
    const d = options.duration;
    if (run('floor')) results.floor = await measureFloor(bench, checkBody, cookies);
    if (run('W3')) results.W3 = await measure(checkSpec('W3 session checks', origin, d, '/check_session', cookieHeaders), options.warmup);
    if (run('W3b')) {
      const bearer = tokens.map((token) => ({ authorization: `Bearer ${token}` }));
      results.W3b = await measure(checkSpec('W3b bearer checks', origin, d, '/api/me', bearer), options.warmup);
    }
    if (run('W2')) {
      results.W2 = await measure(loginSpec(origin, d, baseUsers));
      await drain();
    }
    if (run('W4')) {
      say(`→ W4: W3 and W2 at the same time, ${d} s`);
      const [checks, logins] = await Promise.all([
        runLoad(checkSpec('W4 session checks during a login storm', origin, d, '/check_session', cookieHeaders)),
        runLoad({ ...loginSpec(origin, d, baseUsers), title: 'W4 logins during the storm', expect: [200] }),
      ]);
      say(`  checks: ${describe(checks)}`);
      say(`  logins: ${describe(logins)}; shed with 503: ${logins.statuses['503'] ?? 0}`);
      results.W4 = { checks, logins };
      await drain();
    }
    if (run('W5')) {
      say(`→ W5: wrong password and unknown user, one connection each, side by side, ${d} s`);
      let wrong = 0;
      let unknown = 0;
      const failedLogin = (title: string, body: () => string): LoadSpec => ({
        title,
        origin,
        path: '/login',
        method: 'POST',
        connections: 1,
        duration: d,
        headers: { 'content-type': 'application/json' },
        body: body(),
        setupRequest: (request) => ({ ...request, body: body() }),
        expect: [401],
      });
      const [wrongPassword, unknownUser] = await Promise.all([
        runLoad(failedLogin('W5 wrong password', () => JSON.stringify({ username: seedUsername(1 + (wrong++ % baseUsers)), password: WRONG_PASSWORD }))),
        runLoad(failedLogin('W5 unknown user', () => JSON.stringify({ username: `nobody${unknown++}`, password: WRONG_PASSWORD }))),
      ]);
      say(`  wrong password: ${describe(wrongPassword)}`);
      say(`  unknown user:   ${describe(unknownUser)}`);
      results.W5 = { wrongPassword, unknownUser };
      await drain();
    }
    if (run('W1')) {
      let next = 0;
      const body = () => JSON.stringify({ username: `signup${next++}`, password: SEED_PASSWORD });
      results.W1 = await measure({
        title: 'W1 signups',
        origin,
        path: '/signup',
        method: 'POST',
        connections: 8,
        duration: d,
        headers: { 'content-type': 'application/json' },
        body: body(),
        setupRequest: (request) => ({ ...request, body: body() }),
        expect: [201],
      });
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
  const after = Math.max(1, seconds * 0.1);
  const baseline = samples.find((s) => s.t >= after) ?? samples[0];
  const final = samples[samples.length - 1];
  const baselineMb = baseline?.totalMb ?? 0;
  const finalMb = final?.totalMb ?? 0;
  const growth = baselineMb > 0 ? finalMb / baselineMb - 1 : 0;
  say(`  ${describe(checks)}; RSS ${baselineMb.toFixed(1)} MB at ${baseline?.t ?? 0} s → ${finalMb.toFixed(1)} MB at ${final?.t ?? 0} s (${(growth * 100).toFixed(1)} %)`);
  return { seconds, samples, baselineMb, finalMb, growth, checks };
}

/** Phase 2: W3 over seeded sessions at each database size; the server is stopped while users are added. */
async function sizeRun(bench: Bench, results: Results, passwordHash: string, seeded: number): Promise<void> {
  const { options } = bench;
  const database = bench.database;
  if (!database) throw new Error('no database');
  results.W6 = [];
  for (const size of options.sizes) {
    if (size > seeded) {
      const start = Date.now();
      await database.seedUsers(seeded, size, passwordHash);
      say(`seeded users ${seeded + 1}…${size} in ${((Date.now() - start) / 1000).toFixed(1)} s`);
      seeded = size;
    }
    const tokens = await database.seedSessions(spread(W6_SESSIONS, size));
    const server = await startGatehouse(bench, `${size}-users`, false);
    try {
      const headerSets = tokens.map((token) => ({ cookie: `gatehouse_session=${token}` }));
      const probe = await fetch(`${server.origin}/check_session`, { headers: headerSets[0] ?? {} });
      await probe.arrayBuffer();
      if (probe.status !== 200) {
        throw new Error(`a seeded session was refused (${probe.status}): bench/database.ts no longer matches how src/sessions stores sessions`);
      }
      const users = (await database.countUsers()).toLocaleString('en-US');
      const hotSets = spread(CHECK_USERS, headerSets.length).map((i) => headerSets[i - 1] ?? {});
      const hot = await measure(checkSpec(`W6 session checks, ${users} users, ${hotSets.length} sessions as in W3`, server.origin, options.duration, '/check_session', hotSets), options.warmup);
      const spreadOut = await measure(checkSpec(`W6 session checks, ${users} users, ${headerSets.length} sessions`, server.origin, options.duration, '/check_session', headerSets), options.warmup);
      results.W6.push({ users: size, hot, spread: spreadOut });
    } finally {
      await server.process.stop();
    }
  }
}

/** Why a measurement cannot be trusted, or undefined when it can. */
function invalid(result: LoadResult | undefined, tolerated: string[] = []): string | undefined {
  if (!result) return undefined;
  if (result.responses === 0) return 'no responses';
  const bad = unexpectedStatuses(result, tolerated);
  const badCount = bad.reduce((sum, [, count]) => sum + count, 0);
  if (badCount / result.responses > 0.01) return `unexpected statuses: ${bad.map(([s, c]) => `${c}×${s}`).join(' ')}`;
  if (result.errors / result.responses > 0.01) return `${result.errors} connection errors`;
  return undefined;
}

function rows(results: Results, options: Options): Row[] {
  const out: Row[] = [];
  const add = (row: Row, result?: LoadResult, tolerated?: string[]) => {
    const why = invalid(result, tolerated);
    out.push(why ? { ...row, pass: null, invalid: why } : row);
  };
  const { hash } = results;
  out.push({ workload: 'bcrypt', metric: `one hash at cost ${hash.cost}, in-process (median of ${hash.samplesMs.length})`, value: hash.medianMs, unit: 'ms', target: '', pass: null });
  out.push({ workload: 'bcrypt', metric: `physical limit: ${hash.cores} cores / hash time`, value: hash.limitPerSecond, unit: 'logins/s', target: '', pass: null });

  const floorRps = results.floor?.rps ?? null;
  if (results.floor) add({ workload: 'floor', metric: 'bare Fastify route, same JSON, cookie parsed', value: floorRps, unit: 'rps', target: '', pass: null }, results.floor);

  if (results.W1) {
    add({ workload: 'W1', metric: 'signups/s (8 connections)', value: results.W1.rps, unit: 'rps', target: '', pass: null }, results.W1);
  }
  if (results.W2) {
    add({ workload: 'W2', metric: 'logins/s (16 connections)', value: results.W2.rps, unit: 'rps', target: '', pass: null }, results.W2);
    const share = ratio(results.W2.rps, hash.limitPerSecond);
    add({ workload: 'W2', metric: 'logins/s ÷ physical limit', value: share, unit: '%', target: '≥ 90 %', pass: atLeast(share, 0.9) }, results.W2);
  }
  for (const [name, result, label] of [
    ['W3', results.W3, 'session checks (cookie)'],
    ['W3b', results.W3b, 'bearer checks (/api/me)'],
  ] as const) {
    if (!result) continue;
    add({ workload: name, metric: `${label}/s (50 connections)`, value: result.rps, unit: 'rps', target: '', pass: null }, result);
    add({ workload: name, metric: 'p50 latency', value: result.latency.p50Ms, unit: 'ms', target: '', pass: null }, result);
    add({ workload: name, metric: 'p99 latency', value: result.latency.p99Ms, unit: 'ms', target: '', pass: null }, result);
    const share = ratio(result.rps, floorRps);
    add({ workload: name, metric: 'rps ÷ floor', value: share, unit: '%', target: '≥ 60 %', pass: atLeast(share, 0.6) }, result);
  }
  if (results.W4) {
    const { checks, logins } = results.W4;
    add({ workload: 'W4', metric: 'session checks/s during a login storm', value: checks.rps, unit: 'rps', target: '', pass: null }, checks);
    const rpsShare = ratio(checks.rps, results.W3?.rps);
    add({ workload: 'W4', metric: 'checks/s ÷ W3 alone', value: rpsShare, unit: '%', target: '≥ 50 %', pass: atLeast(rpsShare, 0.5) }, checks);
    add({ workload: 'W4', metric: 'p99 latency during the storm', value: checks.latency.p99Ms, unit: 'ms', target: '', pass: null }, checks);
    const p99Ratio = ratio(checks.latency.p99Ms, results.W3?.latency.p99Ms);
    add({ workload: 'W4', metric: 'p99 ÷ W3 p99 alone', value: p99Ratio, unit: '×', target: '≤ 3 ×', pass: atMost(p99Ratio, 3) }, checks);
    add({ workload: 'W4', metric: 'logins/s during the storm', value: logins.rps, unit: 'rps', target: '', pass: null }, logins, ['503']);
    out.push({ workload: 'W4', metric: 'logins shed with 503 during the storm', value: logins.statuses['503'] ?? 0, unit: 'count', target: '', pass: null });
  }
  if (results.W5) {
    const { wrongPassword, unknownUser } = results.W5;
    add({ workload: 'W5', metric: 'wrong password: mean latency', value: wrongPassword.latency.meanMs, unit: 'ms', target: '', pass: null, note: `${wrongPassword.latency.samples} requests` }, wrongPassword);
    add({ workload: 'W5', metric: 'unknown user: mean latency', value: unknownUser.latency.meanMs, unit: 'ms', target: '', pass: null, note: `${unknownUser.latency.samples} requests` }, unknownUser);
    const r = ratio(unknownUser.latency.meanMs, wrongPassword.latency.meanMs);
    add({ workload: 'W5', metric: 'unknown ÷ wrong password (means)', value: r, unit: '×', target: '0.95–1.05 ×', pass: r === null ? null : Math.abs(r - 1) <= 0.05 }, unknownUser);
  }
  if (results.W6 && results.W6.length > 0) {
    for (const variant of ['hot', 'spread'] as const) {
      const label = variant === 'hot' ? `${CHECK_USERS} sessions as W3` : `${W6_SESSIONS} sessions`;
      for (const point of results.W6) {
        const checks = point[variant];
        add({ workload: 'W6', metric: `checks/s, ${point.users.toLocaleString('en-US')} users, ${label}`, value: checks.rps, unit: 'rps', target: '', pass: null, note: `p99 ${checks.latency.p99Ms.toFixed(2)} ms` }, checks);
      }
      const first = results.W6[0];
      const last = results.W6[results.W6.length - 1];
      if (first && last && last !== first) {
        const r = ratio(last[variant].rps, first[variant].rps);
        const note = last.users < 1_000_000 ? `${last.users.toLocaleString('en-US')} users, not 1 M` : undefined;
        add(
          { workload: 'W6', metric: `${label}: rps at ${last.users.toLocaleString('en-US')} ÷ at ${first.users.toLocaleString('en-US')} users`, value: r, unit: '%', target: '≥ 90 %', pass: atLeast(r, 0.9), ...(note ? { note } : {}) },
          last[variant],
        );
      }
    }
  }
  if (results.idleRss) {
    const processes = results.idleRss.processes.length;
    out.push({
      workload: 'memory',
      metric: processes > 1 ? 'idle RSS after seeding, largest process' : 'idle RSS after seeding',
      value: results.idleRss.maxProcessMb,
      unit: 'MB',
      target: '< 150 MB',
      pass: results.idleRss.maxProcessMb < 150,
      ...(processes > 1 ? { note: `${processes} processes, ${results.idleRss.totalMb.toFixed(1)} MB together` } : {}),
    });
  }
  if (results.soak) {
    const s = results.soak;
    const short = s.seconds < 300;
    add(
      { workload: 'memory', metric: `RSS growth over a ${s.seconds} s W3 run`, value: s.growth, unit: '%', target: '≤ 10 % over 300 s', pass: short ? null : s.growth <= 0.1, note: `${s.baselineMb.toFixed(1)} → ${s.finalMb.toFixed(1)} MB${short ? '; too short for the target (--soak 300)' : ''}` },
      s.checks,
    );
  } else if (options.only.has('soak')) {
    out.push({ workload: 'memory', metric: 'RSS growth over a 300 s W3 run', value: null, unit: '%', target: '≤ 10 % over 300 s', pass: null, note: 'not run: add --soak 300' });
  }
  return out;
}

function newProfiles(since: number): string[] {
  if (!existsSync(PROFILE_DIR)) return [];
  return readdirSync(PROFILE_DIR)
    .filter((f) => f.endsWith('.cpuprofile'))
    .map((f) => join(PROFILE_DIR, f))
    .filter((f) => statSync(f).mtimeMs >= since)
    .sort();
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const startedAt = Date.now();
  ensureBuilt();
  const { loadConfig } = (await import(pathToFileURL(join(ROOT, 'dist', 'src', 'config.js')).href)) as { loadConfig: (env: NodeJS.ProcessEnv) => Readonly<Config> };

  // The default configuration, except the abuse limits, which would refuse a benchmark's logins.
  const serverEnv: NodeJS.ProcessEnv = {
    ...baseEnv(),
    HOST: '127.0.0.1',
    RATE_LIMITS: 'off',
    ...(options.workers !== null ? { WORKERS: String(options.workers) } : {}),
    ...options.env,
  };
  const config = loadConfig({ ...serverEnv, DATABASE_URL: 'sqlite::memory:' });
  const bench = new Bench(options, config, serverEnv);

  let interrupted = false;
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      if (interrupted) return;
      interrupted = true;
      say(`\nbench: ${signal}: stopping the servers and removing the database`);
      bench.cleanup().finally(() => process.exit(130));
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
  if (Object.keys(options.env).length > 0) say(`        NOT the default configuration: ${Object.entries(options.env).map(([k, v]) => `${k}=${v}`).join(' ')}`);

  const base = options.sizes[0] ?? 1000;
  let results: Results | null = null;
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

    const mainWorkloads: Workload[] = ['floor', 'W1', 'W2', 'W3', 'W3b', 'W4', 'W5', 'soak'];
    if (mainWorkloads.some((w) => options.only.has(w))) await mainRun(bench, results, base);
    if (options.only.has('W6')) await sizeRun(bench, results, hash, base);
  } finally {
    await bench.cleanup();
  }

  const table = rows(results, options);
  say('');
  say(renderTable(table));
  const report = {
    benchmark: 'gatehouse issue 7',
    date: new Date(startedAt).toISOString(),
    seconds: Math.round((Date.now() - startedAt) / 1000),
    quick: options.quick,
    machine: host,
    git: gitState(ROOT),
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
  const markdown = options.out.replace(/\.json$/, '') + '.md';
  writeFileSync(
    markdown,
    `Run ${report.date}${options.quick ? ' (--quick)' : ''}: ${host.nproc} cores, ${host.cpuModel}, Node ${host.node}, ${options.db}, ` +
      `WORKERS=${config.workers}, BCRYPT_COST=${config.bcryptCost}, commit ${report.git.commit?.slice(0, 10) ?? 'unknown'}${report.git.dirty ? ' (with local changes)' : ''}\n\n${renderMarkdown(table)}\n`,
  );
  say('');
  say(`results: ${relative(process.cwd(), options.out)} and ${relative(process.cwd(), markdown)}`);
  if (options.profile) {
    const profiles = newProfiles(startedAt);
    say(`profiles (${profiles.length}) in ${relative(process.cwd(), PROFILE_DIR)}; read one with node --import tsx bench/top-functions.ts FILE, or open it in Chrome DevTools`);
    // Cluster primaries and idle hash threads write near-empty profiles; show the busiest one.
    const busiest = profiles.sort((a, b) => statSync(b).size - statSync(a).size)[0];
    if (busiest) say(`\n${summarizeProfile(busiest)}`);
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`bench: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
