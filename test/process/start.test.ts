import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { GOOD_PASSWORD, signUpClient, startTestServer, TEST_OUTPUT, uniqueName } from '../helpers/app.js';
import { TestClient } from '../helpers/http.js';
import { freePort } from '../helpers/ports.js';

const ROOT = process.cwd();
const DIR = join(TEST_OUTPUT, 'process');
mkdirSync(DIR, { recursive: true });

const files: string[] = [];
function databaseFile(): string {
  const file = join(DIR, `${randomUUID()}.db`);
  files.push(file);
  return file;
}


/** The environment of a real deployment: nothing inherited that could point it at another database or Redis. */
function serverEnv(overrides: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, LANG: 'C.UTF-8' };
  return { ...env, NODE_ENV: 'development', HOST: '127.0.0.1', BCRYPT_COST: '4', ...overrides };
}

interface Running {
  child: ChildProcess;
  output: () => string;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv): Running {
  const child = spawn(command, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => resolve({ code, signal }));
  });
  return { child, output: () => stdout + stderr, stderr: () => stderr, exited };
}

/** Poll /healthz until the process answers; fail early if it exits instead. */
async function waitUntilUp(server: Running, url: string, timeoutMs: number): Promise<void> {
  let exited = false;
  void server.exited.then(() => {
    exited = true;
  });
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    assert.ok(!exited, `the server exited before answering:\n${server.output()}`);
    try {
      const res = await fetch(`${url}/healthz`);
      if (res.status === 200) return;
    } catch {
      // Not listening yet.
    }
    await delay(100);
  }
  assert.fail(`no answer from ${url} within ${timeoutMs} ms:\n${server.output()}`);
}

/** The processes started under `pid` (npm start runs the server as its child, through a shell). */
function descendants(pid: number): Array<{ pid: number; args: string }> {
  const table = spawnSync('ps', ['-e', '-o', 'pid=,ppid=,args='], { encoding: 'utf8' }).stdout;
  const rows = table
    .split('\n')
    .map((line) => /^\s*(\d+)\s+(\d+)\s+(.*)$/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ pid: Number(m[1]), ppid: Number(m[2]), args: m[3] ?? '' }));
  const found: Array<{ pid: number; args: string }> = [];
  const parents = [pid];
  while (parents.length > 0) {
    const parent = parents.pop();
    for (const row of rows.filter((r) => r.ppid === parent)) {
      found.push({ pid: row.pid, args: row.args });
      parents.push(row.pid);
    }
  }
  return found;
}

/** Stop a process that is still running, and what it started (a failed test must not leave a server behind). */
function kill(server: Running | undefined): void {
  if (!server || server.child.exitCode !== null || server.child.signalCode !== null || server.child.pid === undefined) return;
  for (const child of descendants(server.child.pid)) process.kill(child.pid, 'SIGKILL');
  server.child.kill('SIGKILL');
}

function cli(args: string[], env: NodeJS.ProcessEnv, input = '', viaNpx = false) {
  const [command, argv] = viaNpx ? ['npx', ['--no-install', 'gatehouse', ...args]] : [process.execPath, [join(ROOT, 'bin/gatehouse.js'), ...args]];
  return spawnSync(command as string, argv as string[], { cwd: ROOT, env, input, encoding: 'utf8', timeout: 120_000 });
}

/** `script` (util-linux) runs a command on a pseudo-terminal: how the CLI's prompt is tested as a person meets it. */
const HAS_SCRIPT = spawnSync('script', ['--version'], { encoding: 'utf8' }).status === 0;

interface Terminal {
  /** Resolves once the terminal shows text matching `pattern` (everything since the last wait). */
  waitFor(pattern: RegExp): Promise<void>;
  type(keys: string): void;
  screen(): string;
  exited: Promise<number | null>;
}

/** The CLI on a terminal of its own: stdin is a TTY, what it writes comes back as the screen. */
function terminal(args: string[], env: NodeJS.ProcessEnv): Terminal {
  const command = [process.execPath, join(ROOT, 'bin/gatehouse.js'), ...args].map((part) => `'${part.replace(/'/g, `'\\''`)}'`).join(' ');
  // -e: exit with the command's status; -E never: script itself echoes nothing we type.
  const child = spawn('script', ['-q', '-E', 'never', '-e', '-c', command, '/dev/null'], { cwd: ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] });
  let screen = '';
  let seen = 0;
  const listeners = new Set<() => void>();
  child.stdout.on('data', (chunk: Buffer) => {
    screen += chunk.toString('utf8');
    for (const listener of listeners) listener();
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    waitFor: (pattern) =>
      new Promise<void>((resolve, reject) => {
        const check = () => {
          const match = pattern.exec(screen.slice(seen));
          if (!match) return;
          seen += match.index + match[0].length;
          listeners.delete(check);
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(() => {
          listeners.delete(check);
          reject(new Error(`the terminal never showed ${pattern}; it shows:\n${screen}`));
        }, 60_000);
        listeners.add(check);
        check();
      }),
    type: (keys) => child.stdin.write(keys),
    screen: () => screen,
    exited,
  };
}

function oneLine(text: string): string {
  const lines = text.split('\n').filter((line) => line.trim() !== '');
  assert.equal(lines.length, 1, `exactly one line, got:\n${text}`);
  return lines[0] ?? '';
}

describe('the real server process', () => {
  after(() => {
    for (const file of files) for (const suffix of ['', '-wal', '-shm']) rmSync(`${file}${suffix}`, { force: true });
  });

  it('npm start serves signup, login, /api/me and logout, logs no secrets, and exits 0 on SIGTERM', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    // `npm start` without its prestart build: `npm test` has just built, and rebuilding here would
    // rewrite dist/ and web/dist/ under the suites running beside this one. So this tests the
    // last build: run `npm run build` first when running this file alone.
    const server = run('npm', ['start', '--silent', '--ignore-scripts'], serverEnv({ PORT: String(port), DATABASE_URL: `sqlite:${databaseFile()}`, LOG_LEVEL: 'debug', ACCESS_LOG: 'on' }));
    try {
      await waitUntilUp(server, url, 60_000);

      const browser = new TestClient(url);
      const username = uniqueName('proc');
      const signup = await browser.post<{ username: string }>('/signup', { username, email: `${username}@example.com`, password: GOOD_PASSWORD });
      assert.equal(signup.status, 201, signup.text);
      const login = await browser.post('/login', { username, password: GOOD_PASSWORD });
      assert.equal(login.status, 200, login.text);
      const me = await browser.get<{ username: string }>('/api/me');
      assert.equal(me.status, 200);
      assert.equal(me.body.username, username);
      assert.equal((await browser.get('/check_session')).status, 200);
      const session = browser.cookie('gatehouse_session') ?? '';
      const csrf = browser.csrf ?? '';
      assert.equal((await browser.send('DELETE', '/logout')).status, 204);
      assert.equal((await browser.get('/check_session')).status, 204);

      const tokens = await new TestClient(url).post<{ access_token: string; refresh_token: string }>('/api/token', { username, password: GOOD_PASSWORD });
      assert.equal(tokens.status, 200);
      const bearer = await new TestClient(url).get('/api/me', { headers: { authorization: `Bearer ${tokens.body.access_token}` } });
      assert.equal(bearer.status, 200);
      const refreshed = await new TestClient(url).post<{ refresh_token: string }>('/api/token/refresh', { refresh_token: tokens.body.refresh_token });
      assert.equal(refreshed.status, 200);
      // Credentials sent where they do not belong must not reach the log either.
      await new TestClient(url).get(`/login?username=${username}&password=${encodeURIComponent(GOOD_PASSWORD)}`);
      await new TestClient(url).post('/login', { username, password: `${GOOD_PASSWORD}-wrong` });

      // SIGTERM to the server itself, as a process manager sends it; npm then exits with its status.
      const node = descendants(server.child.pid ?? 0).find((p) => /^\S*node\s+dist\/src\/main\.js/.test(p.args));
      assert.ok(node, 'npm start runs node dist/src/main.js');
      process.kill(node.pid, 'SIGTERM');
      const { code, signal } = await server.exited;
      assert.equal(signal, null, server.output());
      assert.equal(code, 0, server.output());

      const log = server.output();
      assert.match(log, /"method":"GET","url":"\/api\/me"/, 'the log has request lines (so the checks below mean something)');
      assert.match(log, /"url":"\/login",/, 'logged without the query string');
      for (const [what, secret] of [
        ['the password', GOOD_PASSWORD],
        ['the password (URL-encoded)', encodeURIComponent(GOOD_PASSWORD)],
        ['the session cookie', session],
        ['the CSRF token', csrf],
        ['the access token', tokens.body.access_token],
        ['the refresh token', tokens.body.refresh_token],
        ['the refreshed refresh token', refreshed.body.refresh_token],
      ] as const) {
        assert.ok(secret.length > 10, what);
        assert.ok(!log.includes(secret), `the log contains ${what}`);
      }
    } finally {
      kill(server);
    }
  });

  it('an invalid setting stops the process before it listens, with one stderr line naming it', async () => {
    const port = await freePort();
    const server = run(process.execPath, ['dist/src/main.js'], serverEnv({ PORT: 'abc', DATABASE_URL: `sqlite:${databaseFile()}` }));
    try {
      const { code } = await server.exited;
      assert.notEqual(code, 0);
      assert.match(oneLine(server.stderr()), /\bPORT\b/);
    } finally {
      kill(server);
    }
    // And the same for a production-only rule.
    const prod = run(process.execPath, ['dist/src/main.js'], serverEnv({ PORT: String(port), NODE_ENV: 'production', PUBLIC_URL: 'http://auth.example.com', DATABASE_URL: `sqlite:${databaseFile()}` }));
    try {
      const { code } = await prod.exited;
      assert.notEqual(code, 0);
      assert.match(oneLine(prod.stderr()), /\bPUBLIC_URL\b/);
    } finally {
      kill(prod);
    }
  });

  it('WORKERS=2 on a port already taken: workers that keep exiting are not restarted forever; the primary stops, exit 1, and says why', async () => {
    // The guard (src/cli/serve.ts) stops after more than 3 × WORKERS workers in a row exit before
    // they ever listened, however long each start takes (a loaded machine once took 15 s a start,
    // which a time window alone missed). A worker here fails in about 2.5 s (two at a time), so the
    // 7th exit comes after about 10 s. The 120 s bound only ends a run that would otherwise go on
    // forever. Checked: with the guard's limit multiplied by 100 the primary restarts workers until
    // the bound and this fails.
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const address = taken.address();
    assert.ok(address && typeof address === 'object');
    const server = run(process.execPath, ['dist/src/main.js'], serverEnv({ PORT: String(address.port), WORKERS: '2', DATABASE_URL: `sqlite:${databaseFile()}` }));
    // Every worker seen while the primary runs, to check afterwards that none was left behind.
    const workers = new Set<number>();
    const watch = setInterval(() => {
      for (const child of descendants(server.child.pid ?? 0)) workers.add(child.pid);
    }, 200);
    const boundTimer = new AbortController();
    try {
      const bound = delay(120_000, 'bound' as const, { signal: boundTimer.signal });
      const outcome = await Promise.race([server.exited, bound]);
      assert.notEqual(outcome, 'bound', `the primary was still restarting workers after 120 s:\n${server.output().slice(-2000)}`);
      assert.deepEqual(outcome, { code: 1, signal: null }, server.output());
      const stderr = server.stderr();
      const exits = stderr.match(/worker \d+ exited \(1\); starting another/g) ?? [];
      assert.ok(exits.length > 2 * 3, `more than 3 × WORKERS exits before stopping: ${exits.length}`);
      assert.match(stderr, /EADDRINUSE/, 'each worker says why it could not start');
      assert.match(stderr, /workers keep exiting \(7 in a row exited before listening\); stopping\n$/, 'the primary says why it stops, last');
      assert.ok(workers.size > 0, 'workers were seen');
      for (const pid of workers) assert.throws(() => process.kill(pid, 0), /ESRCH/, `worker ${pid} left running`);
    } finally {
      boundTimer.abort();
      clearInterval(watch);
      kill(server);
      await new Promise<void>((resolve) => taken.close(() => resolve()));
    }
  });

  it('RATE_LIMITS=off warns at start', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const server = run(process.execPath, ['dist/src/main.js'], serverEnv({ PORT: String(port), DATABASE_URL: `sqlite:${databaseFile()}`, RATE_LIMITS: 'off' }));
    try {
      await waitUntilUp(server, url, 60_000);
      server.child.kill('SIGTERM');
      assert.equal((await server.exited).code, 0);
      assert.match(server.output(), /"level":40[^\n]*RATE_LIMITS=off/);
    } finally {
      kill(server);
    }
  });
});

describe('the gatehouse CLI', () => {
  it('user create --admin (password on stdin) makes an admin who can log in; user disable stops their login', async () => {
    const database = `sqlite:${databaseFile()}`;
    const env = serverEnv({ DATABASE_URL: database });
    const admin = uniqueName('root');
    const created = cli(['user', 'create', '--username', admin, '--email', `${admin}@example.com`, '--admin'], env, `${GOOD_PASSWORD}\n`, true);
    assert.equal(created.status, 0, created.stderr);
    assert.match(oneLine(created.stdout), new RegExp(`created user ${admin} .*role admin`));
    assert.ok(!created.stdout.includes(GOOD_PASSWORD) && !created.stderr.includes(GOOD_PASSWORD));

    const server = await startTestServer({ DATABASE_URL: database });
    try {
      const login = await server.client().post<{ role: string; email_verified: boolean }>('/login', { username: admin, password: GOOD_PASSWORD });
      assert.equal(login.status, 200);
      assert.equal(login.body.role, 'admin');
      assert.equal(login.body.email_verified, true, 'an address given to the CLI is stored verified');

      // The last active admin cannot be disabled: a one-line refusal, exit 1.
      const refused = cli(['user', 'disable', '--username', admin], env);
      assert.equal(refused.status, 1);
      assert.match(oneLine(refused.stderr), /last active admin/i);

      const second = uniqueName('root2');
      assert.equal(cli(['user', 'create', '--username', second, '--admin'], env, `${GOOD_PASSWORD}\n`).status, 0);
      const disabled = cli(['user', 'disable', '--username', admin], env, '', true);
      assert.equal(disabled.status, 0, disabled.stderr);
      assert.match(oneLine(disabled.stdout), /disabled/);
      const after = await server.client().post<{ error: { code: string } }>('/login', { username: admin, password: GOOD_PASSWORD });
      assert.equal(after.status, 401);
      assert.equal(after.body.error.code, 'invalid_credentials');

      const enabled = cli(['user', 'enable', '--username', admin], env);
      assert.equal(enabled.status, 0, enabled.stderr);
      assert.equal((await server.client().post('/login', { username: admin, password: GOOD_PASSWORD })).status, 200);
    } finally {
      await server.close();
    }
  });

  it('refuses bad usage with a non-zero exit and a one-line error', () => {
    const env = serverEnv({ DATABASE_URL: `sqlite:${databaseFile()}` });
    const cases: Array<[string[], RegExp]> = [
      [['user', 'create'], /--username/],
      [['user', 'frobnicate', '--username', 'someone'], /unknown user command/],
      [['frobnicate'], /unknown command/],
      [['user', 'create', '--username', 'someone', '--password', GOOD_PASSWORD], /--password/],
      [['user', 'create', '--username', 'someone', 'extra'], /extra/],
      [['keys', 'spin'], /unknown keys command/],
    ];
    for (const [args, message] of cases) {
      const result = cli(args, env, `${GOOD_PASSWORD}\n`);
      assert.notEqual(result.status, 0, args.join(' '));
      assert.equal(result.status, 64, `${args.join(' ')}: usage errors exit 64`);
      assert.match(oneLine(result.stderr), message, args.join(' '));
      assert.equal(result.stdout, '');
    }
  });

  it('refuses a bad password or a taken name with exit 1 and one line', () => {
    const env = serverEnv({ DATABASE_URL: `sqlite:${databaseFile()}` });
    const weak = cli(['user', 'create', '--username', uniqueName('weak')], env, 'password\n');
    assert.equal(weak.status, 1);
    assert.match(oneLine(weak.stderr), /too common/);
    const empty = cli(['user', 'create', '--username', uniqueName('empty')], env, '');
    assert.equal(empty.status, 1);
    assert.match(oneLine(empty.stderr), /at least 8 bytes/);
    const name = uniqueName('twice');
    assert.equal(cli(['user', 'create', '--username', name], env, `${GOOD_PASSWORD}\n`).status, 0);
    const again = cli(['user', 'create', '--username', name.toUpperCase()], env, `${GOOD_PASSWORD}\n`);
    assert.equal(again.status, 1);
    assert.match(oneLine(again.stderr), /taken/);
    const unknown = cli(['user', 'disable', '--username', uniqueName('nobody')], env);
    assert.equal(unknown.status, 1);
    assert.match(oneLine(unknown.stderr), /No user named/);
  });

  // Checked (dist rebuilt after each break, then restored): without endLogins() in setPassword
  // (src/accounts/accounts.service.ts) the first test fails, the old session still answering
  // /api/me; without its passwordProblem() check the second fails, "password" being accepted with exit 0.
  it('user set-password (password on stdin): the old password stops working, the new one works, and that user\'s sessions and tokens end', async () => {
    const database = `sqlite:${databaseFile()}`;
    const server = await startTestServer({ DATABASE_URL: database, RATE_LIMIT_PER_IP: '100000' });
    try {
      const { client: browser, user } = await signUpClient(server);
      const secondBrowser = server.client();
      assert.equal((await secondBrowser.post('/login', { username: user.username, password: GOOD_PASSWORD })).status, 200);
      const tokens = await server.client().post<{ access_token: string; refresh_token: string }>('/api/token', { username: user.username, password: GOOD_PASSWORD });
      assert.equal(tokens.status, 200);
      const bearer = { authorization: `Bearer ${tokens.body.access_token}` };
      const bystander = await signUpClient(server);
      assert.equal((await server.client().get('/api/me', { headers: bearer })).status, 200);

      const newPassword = 'another good passphrase';
      const changed = cli(['user', 'set-password', '--username', user.username.toUpperCase()], serverEnv({ DATABASE_URL: database }), `${newPassword}\n`);
      assert.equal(changed.status, 0, changed.stderr);
      assert.equal(oneLine(changed.stdout), `password set for ${user.username}; their sessions and tokens were ended [database ${database}]`);
      assert.ok(!changed.stdout.includes(newPassword) && !changed.stderr.includes(newPassword), 'the password is never echoed');

      // The server is another process without Redis: it learns from the database once what it
      // cached has aged past the 1 s the contract allows another instance.
      await delay(1_100);
      assert.equal((await browser.get('/api/me')).status, 401, 'the session the user had is ended');
      assert.equal((await browser.get('/check_session')).status, 204);
      assert.equal((await secondBrowser.get('/api/me')).status, 401, 'and every other session of theirs');
      assert.equal((await server.client().get('/api/me', { headers: bearer })).status, 401, 'their access token is refused');
      assert.equal((await server.client().post('/api/token/refresh', { refresh_token: tokens.body.refresh_token })).status, 401, 'their refresh token is refused');
      assert.equal((await bystander.client.get('/api/me')).status, 200, 'another user\'s session is untouched');

      assert.equal((await server.client().post('/login', { username: user.username, password: GOOD_PASSWORD })).status, 401, 'the old password no longer works');
      assert.equal((await server.client().post('/api/token', { username: user.username, password: GOOD_PASSWORD })).status, 401);
      const again = server.client();
      assert.equal((await again.post('/login', { username: user.username, password: newPassword })).status, 200, 'the new one does');
      assert.equal((await again.get('/api/me')).status, 200);
    } finally {
      await server.close();
    }
  });

  it('user set-password refuses a bad password or an unknown user with exit 1 and one line, and changes nothing', async () => {
    const database = `sqlite:${databaseFile()}`;
    const env = serverEnv({ DATABASE_URL: database });
    const server = await startTestServer({ DATABASE_URL: database, RATE_LIMIT_PER_IP: '100000' });
    try {
      const { client: browser, user } = await signUpClient(server);
      const refusals: Array<[string, string, RegExp]> = [
        ['a common password', 'password\n', /too common/],
        ['a short one', 'short\n', /at least 8 bytes/],
        ['the username', `${user.username}\n`, /must not be the username/],
        ['none at all', '', /at least 8 bytes/],
      ];
      for (const [what, input, message] of refusals) {
        const result = cli(['user', 'set-password', '--username', user.username], env, input);
        assert.equal(result.status, 1, `${what}: ${result.stderr}`);
        assert.match(oneLine(result.stderr), message, what);
        assert.equal(result.stdout, '', what);
      }
      const unknown = cli(['user', 'set-password', '--username', uniqueName('nobody')], env, `${GOOD_PASSWORD}\n`);
      assert.equal(unknown.status, 1, unknown.stderr);
      assert.match(oneLine(unknown.stderr), /No user named/);
      assert.equal(unknown.stdout, '');

      await delay(1_100);
      assert.equal((await browser.get('/api/me')).status, 200, 'the session lives on');
      assert.equal((await server.client().post('/login', { username: user.username, password: GOOD_PASSWORD })).status, 200, 'the password is unchanged');
    } finally {
      await server.close();
    }
  });

  // On the old code `keys rotate` answered "previous keys verify for …" and the new key signed at once.
  it('keys rotate publishes a key that signs after 15 minutes; --now signs at once', async () => {
    const database = `sqlite:${databaseFile()}`;
    const server = await startTestServer({ DATABASE_URL: database });
    try {
      const env = serverEnv({ DATABASE_URL: database });
      const jwksKids = async () => {
        await server.services.tokens.keys.reload();
        return ((await server.client().get<{ keys: Array<{ kid: string }> }>('/.well-known/jwks.json')).body.keys ?? []).map((k) => k.kid);
      };
      const first = (await server.services.tokens.keys.signingKey()).kid;
      const planned = cli(['keys', 'rotate'], env);
      assert.equal(planned.status, 0, planned.stderr);
      const [, next, signsFrom] = /^new signing key (\S+); published in the JWKS now, it signs from (\S+) \(in 15 min\)/.exec(oneLine(planned.stdout)) ?? [];
      assert.ok(next && signsFrom, planned.stdout);
      assert.ok(Math.abs(Date.parse(signsFrom) - Date.now() - 15 * 60_000) < 60_000);
      assert.ok((await jwksKids()).includes(next), 'published at once');
      assert.equal((await server.services.tokens.keys.signingKey()).kid, first, 'the old key still signs');

      const urgent = cli(['keys', 'rotate', '--now'], env);
      assert.equal(urgent.status, 0, urgent.stderr);
      const now = /^new signing key (\S+); it signs now;/.exec(oneLine(urgent.stdout))?.[1];
      assert.ok(now, urgent.stdout);
      assert.ok((await jwksKids()).includes(now));
      assert.equal((await server.services.tokens.keys.signingKey()).kid, now);
      assert.equal(cli(['keys', 'rotate', '--later'], env).status, 64, 'an unknown option is a usage error');
    } finally {
      await server.close();
    }
  });

  // Finding 22 (security review). On the old code the first test failed: no "Repeat password:"
  // prompt came (and the stored password would have held ^H characters). Checked against it.
  describe('on a terminal', { skip: !HAS_SCRIPT && 'needs script(1) from util-linux' }, () => {
    it('user create asks twice; Backspace, ^H and ^U edit, arrow keys are not stored', async () => {
      const database = `sqlite:${databaseFile()}`;
      const name = uniqueName('tty');
      const tty = terminal(['user', 'create', '--username', name], serverEnv({ DATABASE_URL: database }));
      await tty.waitFor(/^Password: $/);
      // A typo fixed with Backspace (DEL) and ^H, a wrong start cleared with ^U, a stray arrow key.
      tty.type('wrong start\u0015correct horse\u001b[D battery stapleXY\u007f\b\r');
      await tty.waitFor(/Repeat password: $/);
      tty.type(`${GOOD_PASSWORD}\r`);
      assert.equal(await tty.exited, 0, tty.screen());
      assert.match(tty.screen(), new RegExp(`created user ${name} `));
      assert.ok(!tty.screen().includes('battery'), 'nothing typed is echoed');

      const server = await startTestServer({ DATABASE_URL: database });
      try {
        assert.equal((await server.client().post('/login', { username: name, password: GOOD_PASSWORD })).status, 200, 'the password is what the keys meant');
      } finally {
        await server.close();
      }
    });

    it('a repetition that differs is refused with a clear message, exit 1, and no user', async () => {
      const database = `sqlite:${databaseFile()}`;
      const name = uniqueName('tty');
      const tty = terminal(['user', 'create', '--username', name], serverEnv({ DATABASE_URL: database }));
      await tty.waitFor(/^Password: $/);
      tty.type(`${GOOD_PASSWORD}\r`);
      await tty.waitFor(/Repeat password: $/);
      tty.type(`${GOOD_PASSWORD}!\r`);
      assert.equal(await tty.exited, 1, tty.screen());
      assert.match(tty.screen(), /gatehouse: the passwords do not match; nothing was changed/);
      const retry = cli(['user', 'create', '--username', name], serverEnv({ DATABASE_URL: database }), `${GOOD_PASSWORD}\n`);
      assert.equal(retry.status, 0, `no user was created the first time: ${retry.stderr}`);
    });

    it('user set-password asks twice too; ^C aborts with exit 130 and ^D on an empty line with exit 1', async () => {
      const env = serverEnv({ DATABASE_URL: `sqlite:${databaseFile()}` });
      const name = uniqueName('tty');
      assert.equal(cli(['user', 'create', '--username', name], env, `${GOOD_PASSWORD}\n`).status, 0, 'piped stdin: one line, no repetition');

      const interrupted = terminal(['user', 'set-password', '--username', name], env);
      await interrupted.waitFor(/^New password: $/);
      interrupted.type('half typed\u0003');
      assert.equal(await interrupted.exited, 130, interrupted.screen());
      assert.match(interrupted.screen(), /gatehouse: cancelled/);

      const closed = terminal(['user', 'set-password', '--username', name], env);
      await closed.waitFor(/^New password: $/);
      closed.type(`${GOOD_PASSWORD}\r`);
      await closed.waitFor(/Repeat new password: $/);
      closed.type('\u0004');
      assert.equal(await closed.exited, 1, closed.screen());
      assert.match(closed.screen(), /gatehouse: no password given/);

      const changed = terminal(['user', 'set-password', '--username', name], env);
      await changed.waitFor(/^New password: $/);
      changed.type('another good passphrase\u0004');
      await changed.waitFor(/Repeat new password: $/);
      changed.type('another good passphrase\r');
      assert.equal(await changed.exited, 0, changed.screen());
      assert.match(changed.screen(), new RegExp(`password set for ${name}`));
    });
  });

  it('an invalid setting stops a command with one line naming it', () => {
    const result = cli(['migrate'], serverEnv({ DATABASE_URL: 'mysql://nope' }));
    assert.equal(result.status, 2);
    assert.match(oneLine(result.stderr), /DATABASE_URL/);
  });
});
