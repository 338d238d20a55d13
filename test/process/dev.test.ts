/**
 * `npm run dev` (scripts/dev.mjs): it stops with a non-zero status when its API cannot run, and
 * SIGTERM stops every process it started (the API under node --watch, and Vite).
 * Checked against 1ed912e's script: with a bad PORT it kept running until killed (the API's
 * watcher waited for a change).
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { TEST_OUTPUT } from '../helpers/app.js';
import { freePort } from '../helpers/ports.js';

const ROOT = process.cwd();
const DIR = join(TEST_OUTPUT, 'dev');
mkdirSync(DIR, { recursive: true });
const database = join(DIR, `${randomUUID()}.db`);
after(() => {
  for (const suffix of ['', '-wal', '-shm']) rmSync(`${database}${suffix}`, { force: true });
});

function env(overrides: Record<string, string>): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: process.env.HOME, LANG: 'C.UTF-8', NODE_ENV: 'development', HOST: '127.0.0.1', BCRYPT_COST: '4', LOG_LEVEL: 'warn', ...overrides };
}


/** The processes started under `pid`, children and their children. */
function descendants(pid: number): number[] {
  const rows = spawnSync('ps', ['-e', '-o', 'pid=,ppid='], { encoding: 'utf8' })
    .stdout.split('\n')
    .map((line) => line.trim().split(/\s+/).map(Number))
    .filter((row): row is [number, number] => row.length === 2 && row.every(Number.isInteger));
  const found: number[] = [];
  const parents = [pid];
  while (parents.length > 0) {
    const parent = parents.pop();
    for (const [child] of rows.filter(([, ppid]) => ppid === parent)) {
      found.push(child);
      parents.push(child);
    }
  }
  return found;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function exitOf(child: ReturnType<typeof spawn>): Promise<number | null> {
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

describe('npm run dev', () => {
  it('exits non-zero, saying so, when its API cannot run', async () => {
    const child = spawn(process.execPath, ['scripts/dev.mjs'], { cwd: ROOT, env: env({ PORT: 'not-a-port' }), stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    const code = await exitOf(child);
    clearTimeout(timer);
    assert.equal(code, 1, output);
    assert.match(output, /PORT: must be an integer/);
    assert.match(output, /the API failed to run; stopping/);
  });

  it('SIGTERM stops the API and Vite with it', async () => {
    const port = await freePort();
    const child = spawn(process.execPath, ['scripts/dev.mjs'], { cwd: ROOT, env: env({ PORT: String(port), DATABASE_URL: `sqlite:${database}` }), stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = exitOf(child);
    try {
      const deadline = Date.now() + 60_000;
      for (;;) {
        assert.ok(child.exitCode === null, `dev stopped early:\n${output}`);
        const up = await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.status === 200, () => false);
        if (up) break;
        assert.ok(Date.now() < deadline, `the API did not come up:\n${output}`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      const started = descendants(child.pid ?? 0);
      assert.ok(started.length >= 2, 'the API and Vite are running');
      child.kill('SIGTERM');
      assert.equal(await exited, 0, output);
      const deadlineGone = Date.now() + 10_000;
      while (started.some(alive) && Date.now() < deadlineGone) await new Promise((resolve) => setTimeout(resolve, 100));
      assert.deepEqual(started.filter(alive), [], 'no process of the dev run is left');
      const refused = await fetch(`http://127.0.0.1:${port}/healthz`).then(() => false, () => true);
      assert.ok(refused, 'the API no longer answers');
    } finally {
      child.kill('SIGKILL');
    }
  });
});
