/**
 * The first minutes of a newcomer: `npm start` says where it listens, on which database, and what
 * to do next; every CLI command and sub-command answers --help; the CLI names its database.
 * Checked against 84eba3f: the start line did not exist, `user --help` and `user create --help`
 * exited 64, and the CLI named no database.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { TEST_OUTPUT } from '../helpers/app.js';
import { freePort } from '../helpers/ports.js';

const ROOT = process.cwd();
const DIR = join(TEST_OUTPUT, 'newcomer');
mkdirSync(DIR, { recursive: true });
const created: string[] = [];

function databaseFile(): string {
  const file = join(DIR, `${randomUUID()}.db`);
  created.push(file, `${file}-wal`, `${file}-shm`);
  return file;
}

function env(overrides: Record<string, string>): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: process.env.HOME, LANG: 'C.UTF-8', NODE_ENV: 'development', HOST: '127.0.0.1', BCRYPT_COST: '4', ...overrides };
}

function cli(args: string[], environment: NodeJS.ProcessEnv, input = '') {
  return spawnSync(process.execPath, [join(ROOT, 'bin/gatehouse.js'), ...args], { cwd: ROOT, env: environment, input, encoding: 'utf8', timeout: 60_000 });
}


after(() => {
  for (const file of created) rmSync(file, { force: true });
});

describe('a newcomer starting Gatehouse', () => {
  it('the started server says where it listens, which database it opened, and how to make the first admin', async () => {
    const port = await freePort();
    const file = databaseFile();
    const child = spawn(process.execPath, [join(ROOT, 'dist/src/main.js')], { cwd: ROOT, env: env({ PORT: String(port), DATABASE_URL: `sqlite:${file}` }), stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    try {
      const deadline = Date.now() + 30_000;
      while (!output.includes('Gatehouse is listening')) {
        assert.ok(child.exitCode === null, `the server exited:\n${output}`);
        assert.ok(Date.now() < deadline, `no start line within 30 s:\n${output}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const line = output.split('\n').find((l) => l.includes('Gatehouse is listening')) ?? '';
      assert.match(line, new RegExp(`listening on http://127\\.0\\.0\\.1:${port} `));
      assert.ok(line.includes(`sqlite:${file}`), line);
      assert.ok(line.includes('npx gatehouse user create --username admin --admin'), line);
      assert.equal((await fetch(`http://127.0.0.1:${port}/healthz`)).status, 200, 'it serves what it says');
    } finally {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    }
  });

  it('every command and sub-command answers --help with its usage, exit 0', () => {
    const cases: Array<[string[], RegExp]> = [
      [['help'], /Usage: gatehouse <command>/],
      [['--help'], /Usage: gatehouse <command>/],
      [['serve', '--help'], /Usage: gatehouse serve/],
      [['migrate', '--help'], /Usage: gatehouse migrate/],
      [['user', '--help'], /Usage: gatehouse user <command>/],
      [['user', 'create', '--help'], /Usage: gatehouse user create --username NAME/],
      [['user', 'create', '-h'], /Usage: gatehouse user create --username NAME/],
      [['user', 'set-password', '--help'], /Usage: gatehouse user set-password/],
      [['user', 'promote', '--help'], /Usage: gatehouse user promote/],
      [['user', 'demote', '--help'], /Usage: gatehouse user demote/],
      [['user', 'disable', '--help'], /Usage: gatehouse user disable/],
      [['user', 'enable', '--help'], /Usage: gatehouse user enable/],
      [['keys', '--help'], /Usage: gatehouse keys rotate/],
      [['keys', 'rotate', '--help'], /Usage: gatehouse keys rotate \[--now\]/],
    ];
    // A database that must never be touched by asking for help.
    const file = databaseFile();
    for (const [args, usage] of cases) {
      const result = cli(args, env({ DATABASE_URL: `sqlite:${file}` }));
      assert.equal(result.status, 0, `gatehouse ${args.join(' ')}: exit ${result.status}\n${result.stderr}`);
      assert.match(result.stdout, usage, `gatehouse ${args.join(' ')}`);
    }
    assert.equal(existsSync(file), false, 'asking for help created no database');
  });

  it('a CLI command names the database it works on (and masks a PostgreSQL password)', () => {
    const file = databaseFile();
    const made = cli(['user', 'create', '--username', 'newcomer_admin', '--admin'], env({ DATABASE_URL: `sqlite:${file}` }), 'a newcomer passphrase\n');
    assert.equal(made.status, 0, made.stderr);
    assert.equal(made.stdout, `created user newcomer_admin (id 1, role admin) [database sqlite:${file}]\n`);

    const refused = cli(['migrate'], env({ DATABASE_URL: 'postgres://someone:secret-password@127.0.0.1:1/none', DB_STATEMENT_TIMEOUT_MS: '500' }));
    assert.notEqual(refused.status, 0);
    assert.ok(refused.stderr.includes('[database postgres://someone:***@127.0.0.1:1/none]'), refused.stderr);
    assert.ok(!(refused.stdout + refused.stderr).includes('secret-password'), refused.stderr);
  });
});
