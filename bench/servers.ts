import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Config } from '../src/config.js';
import { seedUsername } from './database.js';
import type { BenchDatabase } from './database.js';
import { freePort, logTail, startProcess, stopAll, waitFor } from './processes.js';
import type { Managed } from './processes.js';
import { PROFILE_DIR } from './top-functions.js';
import { SEED_PASSWORD, WRONG_PASSWORD, say } from './workloads.js';
import type { TotpUsers } from './workloads.js';

export const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
export const SERVER_ENTRY = join(ROOT, 'dist', 'src', 'main.js');

/** Only what a process needs to run: the shell's Gatehouse settings (and NODE_OPTIONS) stay out. */
export function baseEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const name of ['PATH', 'HOME', 'LANG', 'LC_ALL', 'TZ', 'TMPDIR', 'USER']) if (process.env[name] !== undefined) env[name] = process.env[name];
  return env;
}

/** What one run shares: the temporary directory (database file, server logs), the database, the server's settings. */
export class Bench {
  readonly tmp = mkdtempSync(join(tmpdir(), 'gatehouse-bench-'));
  /** The main run's database. */
  database: BenchDatabase | null = null;
  /** The other databases (W6's, one per size), dropped with the main one. */
  readonly #others: BenchDatabase[] = [];
  #logs = 0;

  constructor(
    /** The server's configuration as it will parse it from `serverEnv`. */
    readonly config: Readonly<Config>,
    readonly serverEnv: NodeJS.ProcessEnv,
  ) {}

  logPath(name: string): string {
    this.#logs += 1;
    return join(this.tmp, `${String(this.#logs).padStart(2, '0')}-${name}.log`);
  }

  /** Drop `database` in cleanup, with the main one. */
  track(database: BenchDatabase): BenchDatabase {
    this.#others.push(database);
    return database;
  }

  /**
   * Stop every child, copy the servers' logs to `logsDir` when given (to read a run that looked
   * wrong), drop the databases, remove the temporary directory.
   */
  async cleanup(logsDir?: string): Promise<void> {
    await stopAll();
    if (logsDir !== undefined) this.#copyLogs(logsDir);
    const databases = [...this.#others.splice(0), ...(this.database ? [this.database] : [])];
    this.database = null;
    for (const database of databases) await database.drop().catch((error: unknown) => say(`bench: could not drop the database ${database.url}: ${String(error)}`));
    rmSync(this.tmp, { recursive: true, force: true });
  }

  #copyLogs(dir: string): void {
    const logs = readdirSync(this.tmp).filter((name) => name.endsWith('.log'));
    if (logs.length === 0) return;
    mkdirSync(dir, { recursive: true });
    for (const name of logs) copyFileSync(join(this.tmp, name), join(dir, name));
  }
}

export interface Server {
  origin: string;
  process: Managed;
}

/**
 * Start node dist/src/main.js on a free loopback port and wait until every worker answers. Its
 * working directory is the temporary one, so a .env in the checkout is not read.
 */
export async function startGatehouse(bench: Bench, label: string, profile: boolean, database = bench.database): Promise<Server> {
  if (!database) throw new Error('no database');
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const logPath = bench.logPath(`server-${label}`);
  if (profile) mkdirSync(PROFILE_DIR, { recursive: true });
  const nodeArgs = profile ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`] : [];
  const server = startProcess(`gatehouse (${label})`, process.execPath, [...nodeArgs, SERVER_ENTRY], {
    env: { ...bench.serverEnv, DATABASE_URL: database.url, PORT: String(port) },
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

/** bench/bare-server.ts with the same number of processes as the server, answering `body`. */
export async function startBareServer(bench: Bench, body: string): Promise<Server> {
  const port = await freePort();
  const bare = startProcess('bare server', process.execPath, ['--import', 'tsx', join(ROOT, 'bench', 'bare-server.ts')], {
    env: { ...baseEnv(), PORT: String(port), BODY: body, WORKERS: String(bench.config.workers) },
    cwd: ROOT,
    logPath: bench.logPath('bare-server'),
  });
  try {
    await waitFor('the bare server', 30_000, () => {
      const listening = readFileSync(bare.logPath, 'utf8').split('bare server listening').length - 1;
      return listening >= bench.config.workers ? true : undefined;
    });
  } catch (error) {
    await bare.stop();
    throw error;
  }
  return { origin: `http://127.0.0.1:${port}`, process: bare };
}

function postJson(origin: string, path: string, body: unknown): Promise<Response> {
  return fetch(`${origin}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

/** Log in the way a browser does and return the Cookie header it would send afterwards. */
export async function loginCookie(origin: string, username: string): Promise<string> {
  const response = await postJson(origin, '/login', { username, password: SEED_PASSWORD });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`POST /login as ${username} answered ${response.status}: ${text}`);
  return response.headers
    .getSetCookie()
    .map((cookie) => cookie.split(';')[0] ?? '')
    .filter(Boolean)
    .join('; ');
}

/**
 * One two-step login of W7's next user, by hand, before the storm: a seeding or code mistake stops
 * the run here with the server's answer, rather than as a storm of 401s.
 */
export async function twoStepLogin(origin: string, users: TotpUsers): Promise<void> {
  const ordinal = users.next();
  const username = seedUsername(ordinal);
  const first = await postJson(origin, '/login', { username, password: SEED_PASSWORD });
  const firstText = await first.text();
  const mfaToken = first.status === 200 ? (JSON.parse(firstText) as { mfa_token?: string }).mfa_token : undefined;
  if (!mfaToken) throw new Error(`POST /login as ${username} (TOTP on) answered ${first.status} without an mfa_token: ${firstText}`);
  const second = await postJson(origin, '/login/mfa', { mfa_token: mfaToken, code: users.code(ordinal) });
  const secondText = await second.text();
  if (second.status !== 200) throw new Error(`POST /login/mfa as ${username} answered ${second.status}: ${secondText}`);
}

export async function accessToken(origin: string, username: string): Promise<string> {
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
export async function drainHashQueue(origin: string, hashMs: number): Promise<void> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const start = Date.now();
    const response = await postJson(origin, '/login', { username: seedUsername(1), password: WRONG_PASSWORD });
    await response.arrayBuffer();
    if (Date.now() - start < Math.max(3 * hashMs, 500)) return;
    if (Date.now() > deadline) throw new Error('the server still had logins queued 120 s after the last login workload');
  }
}
