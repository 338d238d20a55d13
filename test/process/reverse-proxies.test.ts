/**
 * Forward authentication behind REAL reverse proxies: Debian's nginx (auth_request) and Caddy
 * (forward_auth), each started by this test on free loopback ports with the configuration that
 * docs/forward-auth.md shows (read from the page, host names and ports adapted), in front of the
 * built Gatehouse (node dist/src/main.js, as in production) and a tiny app that echoes the
 * Remote-* headers it receives. Proven for each: a signed-out page load is redirected to
 * Gatehouse's login and comes back after it; the app then sees Remote-User and the others;
 * client-sent Remote-* headers never reach it; an API request gets 401, not a redirect; a
 * disabled user is refused.
 *
 * Without nginx or Caddy installed the suite for it is skipped with that reason, unless
 * GATEHOUSE_REQUIRE_SERVICES=1 (CI, where .ci/run installs both), where it fails instead.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest } from 'node:http';
import type { IncomingHttpHeaders, Server } from 'node:http';
import { delimiter, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { GOOD_PASSWORD, TEST_OUTPUT, uniqueName } from '../helpers/app.js';
import { fences } from '../helpers/doc-examples.js';
import { freePort } from '../helpers/ports.js';

const ROOT = process.cwd();
const DOC = join(ROOT, 'docs', 'forward-auth.md');
const MAIN = join(ROOT, 'dist', 'src', 'main.js');
const CLI = join(ROOT, 'dist', 'src', 'cli', 'main.js');
const REQUIRE_SERVICES = process.env.GATEHOUSE_REQUIRE_SERVICES === '1';
const BROWSER_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';
const IDENTITY = ['remote-user', 'remote-email', 'remote-groups', 'remote-user-id'];

/** A binary on PATH (or in the sbin directories Debian puts nginx in), or the path the variable names. */
function findBinary(name: string, variable: string): string | null {
  const named = process.env[variable];
  if (named) return existsSync(named) ? named : null;
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin', '/sbin'];
  for (const dir of dirs) if (dir && existsSync(join(dir, name))) return join(dir, name);
  return null;
}

/** Why a proxy's suite cannot run here, for describe's `skip`; false when it runs (or must, in CI). */
function skipReason(name: string, binaryName: string, binary: string | null, variable: string): string | false {
  if (binary !== null || REQUIRE_SERVICES) return false;
  return `${name} tests skipped: no ${binaryName} binary (apt-get install ${binaryName}, as .ci/run does, or set ${variable})`;
}

/** The configuration block docs/forward-auth.md marks `proven=<name>`: the test runs exactly that text, adapted. */
function provenBlock(name: string): string {
  const block = fences(readFileSync(DOC, 'utf8')).find((fence) => fence.attrs.proven === name);
  assert.ok(block, `docs/forward-auth.md has no block marked proven=${name}`);
  return block.body;
}

/** Replace every occurrence, and insist there was one: an edit of the docs that the adaptation misses fails here. */
function replaceAllOf(text: string, from: string | RegExp, to: string, label: string): string {
  const pattern = typeof from === 'string' ? new RegExp(from.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'g') : from;
  assert.ok(pattern.test(text), `docs/forward-auth.md's ${label} block no longer contains ${String(from)}`);
  pattern.lastIndex = 0;
  return text.replace(pattern, to);
}

interface Ports {
  proxy: number;
  gatehouse: number;
  app: number;
}

/** The docs' example names and ports → this machine's: *.example.test on the proxy's loopback port. */
function adaptNames(text: string, ports: Ports, label: string): string {
  let out = replaceAllOf(text, 'auth.example.com', 'auth.example.test', label);
  out = replaceAllOf(out, 'app.example.com', 'app.example.test', label);
  out = replaceAllOf(out, '127.0.0.1:3000', `127.0.0.1:${ports.gatehouse}`, label);
  return replaceAllOf(out, '127.0.0.1:8080', `127.0.0.1:${ports.app}`, label);
}

interface Running {
  child: ChildProcess;
  output: () => string;
  stop: () => Promise<void>;
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv, label: string): Running {
  const child = spawn(command, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.once('error', (error) => (output += `\n${label}: ${error.message}`));
  return {
    child,
    output: () => output,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** One request to 127.0.0.1:`port` with the given Host header, as a browser or a client on that host would send it. */
function send(port: number, host: string, path: string, options: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, method: options.method ?? 'GET', headers: { host, ...(options.headers ?? {}) }, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.setTimeout(15_000, () => req.destroy(new Error(`no answer from ${host}${path} within 15 s`)));
    req.end(options.body);
  });
}

async function waitUntil(what: string, check: () => Promise<boolean>, process: Running, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    assert.ok(process.child.exitCode === null && process.child.signalCode === null, `${what}: the process exited:\n${process.output()}`);
    if (await check().catch(() => false)) return;
    assert.ok(Date.now() < deadline, `${what}: not ready within ${timeoutMs / 1000} s:\n${process.output()}`);
    await delay(100);
  }
}

/** A browser's cookie jar, for hosts that all share COOKIE_DOMAIN=example.test. */
class Jar {
  readonly cookies = new Map<string, string>();
  readonly seen: string[] = [];

  take(answer: Answer): void {
    for (const line of answer.headers['set-cookie'] ?? []) {
      this.seen.push(line);
      const [pair = ''] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      if (value === '' || /max-age=0/i.test(line)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  header(): Record<string, string> {
    return this.cookies.size === 0 ? {} : { cookie: [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ') };
  }
}

interface Stack {
  ports: Ports;
  publicUrl: string;
  appHost: string;
  authHost: string;
  /** Every request the protected app received: its path and its Remote-* headers. */
  appRequests: Array<{ path: string; headers: IncomingHttpHeaders }>;
  gatehouseEnv: NodeJS.ProcessEnv;
  stop(): Promise<void>;
}

/** The app behind the proxy: answers every request with the Remote-* headers it received. */
async function startApp(port: number, requests: Stack['appRequests']): Promise<Server> {
  const server = createServer((req, res) => {
    requests.push({ path: req.url ?? '', headers: req.headers });
    const remote = Object.fromEntries(Object.entries(req.headers).filter(([name]) => name.startsWith('remote-')));
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ app: 'protected', path: req.url, remote }));
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return server;
}

/**
 * Gatehouse (built), the app, and a proxy in front of both: the proxy serves auth.example.test
 * (Gatehouse, PUBLIC_URL) and app.example.test (protected) on one loopback port.
 */
async function startStack(name: string, startProxy: (dir: string, ports: Ports) => Promise<Running>): Promise<Stack> {
  assert.ok(existsSync(MAIN), 'run `npm run build` first (npm test does): dist/src/main.js is missing');
  // One directory per proxy, replaced by each run: the generated configuration and the logs stay for reading afterwards.
  const dir = join(TEST_OUTPUT, 'reverse-proxies', name.toLowerCase());
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const ports: Ports = { proxy: await freePort(), gatehouse: await freePort(), app: await freePort() };
  const publicUrl = `http://auth.example.test:${ports.proxy}`;
  const appRequests: Stack['appRequests'] = [];
  const app = await startApp(ports.app, appRequests);
  const gatehouseEnv: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    LANG: 'C.UTF-8',
    NODE_ENV: 'development',
    HOST: '127.0.0.1',
    PORT: String(ports.gatehouse),
    PUBLIC_URL: publicUrl,
    DATABASE_URL: `sqlite:${join(dir, 'gatehouse.db')}`,
    MAIL_DIR: join(dir, 'mail'),
    BCRYPT_COST: '4',
    LOG_LEVEL: 'warn',
    TRUST_PROXY: '127.0.0.1',
    FORWARD_AUTH_HOSTS: 'app.example.test',
    COOKIE_DOMAIN: 'example.test',
  };
  const gatehouse = run(process.execPath, [MAIN], gatehouseEnv, 'gatehouse');
  let proxy: Running | null = null;
  const stop = async () => {
    await proxy?.stop();
    await gatehouse.stop();
    await new Promise<void>((resolve) => app.close(() => resolve()));
  };
  try {
    await waitUntil('gatehouse', async () => (await send(ports.gatehouse, `127.0.0.1:${ports.gatehouse}`, '/healthz')).status === 200, gatehouse);
    proxy = await startProxy(dir, ports);
    const running = proxy;
    await waitUntil(name, async () => (await send(ports.proxy, `auth.example.test:${ports.proxy}`, '/healthz')).status === 200, running);
  } catch (error) {
    await stop();
    throw error;
  }
  return { ports, publicUrl, appHost: `app.example.test:${ports.proxy}`, authHost: `auth.example.test:${ports.proxy}`, appRequests, gatehouseEnv, stop };
}

/** nginx with the docs' http-context block, its prefix, pid, logs and temp files in the test's directory. */
async function startNginx(binary: string, dir: string, ports: Ports): Promise<Running> {
  let block = adaptNames(provenBlock('nginx'), ports, 'nginx');
  block = replaceAllOf(block, /listen 80;/g, `listen 127.0.0.1:${ports.proxy};`, 'nginx');
  for (const temp of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(dir, 'tmp', temp), { recursive: true });
  const conf = `# Generated by test/process/reverse-proxies.test.ts from docs/forward-auth.md (proven=nginx).
${process.getuid?.() === 0 ? 'user root;\n' : ''}worker_processes 1;
pid ${join(dir, 'nginx.pid')};
error_log ${join(dir, 'error.log')} info;
events { worker_connections 128; }
http {
    access_log ${join(dir, 'access.log')};
    client_body_temp_path ${join(dir, 'tmp', 'body')};
    proxy_temp_path ${join(dir, 'tmp', 'proxy')};
    fastcgi_temp_path ${join(dir, 'tmp', 'fastcgi')};
    uwsgi_temp_path ${join(dir, 'tmp', 'uwsgi')};
    scgi_temp_path ${join(dir, 'tmp', 'scgi')};

${block}
}
`;
  const file = join(dir, 'nginx.conf');
  writeFileSync(file, conf);
  const tested = spawnSync(binary, ['-t', '-p', `${dir}/`, '-c', file, '-e', join(dir, 'error.log'), '-g', 'daemon off;'], { encoding: 'utf8' });
  assert.equal(tested.status, 0, `nginx -t refused the configuration:\n${tested.stderr}\n${conf}`);
  return run(binary, ['-p', `${dir}/`, '-c', file, '-e', join(dir, 'error.log'), '-g', 'daemon off;'], { PATH: process.env.PATH }, 'nginx');
}

/** Caddy with the docs' Caddyfile, plain HTTP on the loopback port, no admin endpoint, its state in the test's directory. */
async function startCaddy(binary: string, dir: string, ports: Ports): Promise<Running> {
  let sites = adaptNames(provenBlock('caddy'), ports, 'caddy');
  sites = replaceAllOf(sites, /^(auth|app)\.example\.test \{$/gm, `http://$1.example.test:${ports.proxy} {\n\tbind 127.0.0.1`, 'caddy');
  const caddyfile = `# Generated by test/process/reverse-proxies.test.ts from docs/forward-auth.md (proven=caddy).
{
	admin off
	auto_https off
}

${sites}
`;
  const file = join(dir, 'Caddyfile');
  writeFileSync(file, caddyfile);
  const env = { PATH: process.env.PATH, HOME: dir, XDG_DATA_HOME: join(dir, 'data'), XDG_CONFIG_HOME: join(dir, 'config') };
  const validated = spawnSync(binary, ['validate', '--config', file, '--adapter', 'caddyfile'], { encoding: 'utf8', env });
  assert.equal(validated.status, 0, `caddy validate refused the configuration:\n${validated.stderr}\n${caddyfile}`);
  return run(binary, ['run', '--config', file, '--adapter', 'caddyfile'], env, 'caddy');
}

/**
 * The same proofs for each proxy. `stack` is filled by the suite's before().
 */
function proxySuite(
  name: string,
  binaryName: string,
  variable: string,
  start: (binary: string, dir: string, ports: Ports) => Promise<Running>,
  /** Whether the docs' configuration strips every client-sent Remote-* header (Caddy's wildcard), not only the four Gatehouse sets (nginx). */
  stripsEveryRemoteHeader: boolean,
): void {
  const binary = findBinary(binaryName, variable);
  describe(`forward authentication behind ${name}`, { skip: skipReason(name, binaryName, binary, variable) }, () => {
    let stack: Stack;
    before(async () => {
      assert.ok(binary, `no ${binaryName} binary: apt-get install ${binaryName} (GATEHOUSE_REQUIRE_SERVICES=1 makes this a failure)`);
      stack = await startStack(name, (dir, ports) => start(binary, dir, ports));
    });
    after(async () => stack?.stop());

    const app = (path: string, options: Parameters<typeof send>[3] = {}) => send(stack.ports.proxy, stack.appHost, path, options);
    const auth = (path: string, options: Parameters<typeof send>[3] = {}) => send(stack.ports.proxy, stack.authHost, path, options);
    const appUrl = (path: string) => `http://${stack.appHost}${path}`;

    /** Sign up through the proxy; the jar then holds the COOKIE_DOMAIN session cookie. */
    async function signUp(email?: string): Promise<{ jar: Jar; id: string; username: string }> {
      const username = uniqueName(name.slice(0, 5));
      const jar = new Jar();
      const res = await auth('/signup', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password: GOOD_PASSWORD, ...(email ? { email } : {}) }) });
      assert.equal(res.status, 201, res.body);
      jar.take(res);
      return { jar, id: String((JSON.parse(res.body) as { id: number | string }).id), username };
    }

    /** What the app saw on its last request. */
    function lastSeen(): IncomingHttpHeaders {
      const last = stack.appRequests[stack.appRequests.length - 1];
      assert.ok(last, 'the app received a request');
      return last.headers;
    }

    it('sends a signed-out page load to the login page, and the login back to the app, which then sees Remote-User', async () => {
      const before = stack.appRequests.length;
      const target = '/private/report?year=2026&q=a%20b';
      const first = await app(target, { headers: { accept: BROWSER_ACCEPT } });
      assert.equal(first.status, 302, `${first.status} ${first.body}`);
      const login = first.headers.location ?? '';
      assert.equal(login, `${stack.publicUrl}/login?next=${encodeURIComponent(appUrl(target))}`);
      assert.equal(stack.appRequests.length, before, 'the app was not reached');

      // The browser follows it to Gatehouse (through the proxy), logs in with the form, and comes back.
      const email = `${uniqueName('mail')}@example.com`.toLowerCase();
      const { username } = await signUp(email);
      const jar = new Jar();
      const page = await auth(new URL(login).pathname + new URL(login).search, { headers: { accept: 'text/html' } });
      assert.equal(page.status, 200);
      jar.take(page);
      assert.equal(/<input type="hidden" name="next" value="([^"]*)">/.exec(page.body)?.[1]?.replace(/&amp;/g, '&'), appUrl(target));
      const csrf = jar.cookies.get('csrf_token') ?? '';
      assert.ok(csrf, 'the login page set a CSRF cookie');
      const form = new URLSearchParams({ csrf_token: csrf, next: appUrl(target), username, password: GOOD_PASSWORD }).toString();
      const posted = await auth('/login', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', origin: stack.publicUrl, ...jar.header() }, body: form });
      assert.equal(posted.status, 303, posted.body);
      assert.equal(posted.headers.location, appUrl(target), 'back to the app');
      jar.take(posted);
      assert.ok(jar.seen.some((line) => line.startsWith('gatehouse_session=') && /Domain=example\.test/i.test(line)), `COOKIE_DOMAIN on the session cookie: ${jar.seen.join(' | ')}`);

      const back = await app(target, { headers: { accept: BROWSER_ACCEPT, ...jar.header() } });
      assert.equal(back.status, 200, back.body);
      assert.equal((JSON.parse(back.body) as { app: string }).app, 'protected');
      const seen = lastSeen();
      assert.equal(seen['remote-user'], username);
      assert.equal(seen['remote-email'], email);
      assert.equal(seen['remote-groups'], 'user');
      assert.match(String(seen['remote-user-id']), /^\d+$/);
      assert.equal(stack.appRequests[stack.appRequests.length - 1]?.path, target, 'the app got the original path');
    });

    it('passes a user without an email with no (or an empty) Remote-Email, never a placeholder', async () => {
      const { jar, id, username } = await signUp();
      const res = await app('/', { headers: jar.header() });
      assert.equal(res.status, 200, res.body);
      const seen = lastSeen();
      assert.equal(seen['remote-user'], username);
      assert.equal(seen['remote-user-id'], id);
      assert.ok(seen['remote-email'] === undefined || seen['remote-email'] === '', `Remote-Email: ${JSON.stringify(seen['remote-email'])}`);
    });

    it('never lets client-sent Remote-* headers reach the app', async () => {
      const { jar, id, username } = await signUp();
      const spoofed = { 'remote-user': 'root', 'remote-email': 'root@example.com', 'remote-groups': 'admin', 'remote-user-id': '0', 'remote-name': 'Root' };
      const res = await app('/spoof', { headers: { ...spoofed, ...jar.header() } });
      assert.equal(res.status, 200, res.body);
      const seen = lastSeen();
      assert.equal(seen['remote-user'], username);
      assert.equal(seen['remote-groups'], 'user');
      assert.equal(seen['remote-user-id'], id);
      assert.ok(seen['remote-email'] === undefined || seen['remote-email'] === '', `the client's Remote-Email was passed on: ${JSON.stringify(seen['remote-email'])}`);
      for (const header of IDENTITY) assert.ok(!String(seen[header] ?? '').includes(','), `${header} is one value, not the client's and Gatehouse's joined`);
      if (stripsEveryRemoteHeader) assert.equal(seen['remote-name'], undefined, 'a Remote-* name Gatehouse does not set is stripped too');

      // Signed out with the same spoofed headers: no way in, and the app is not reached.
      const before = stack.appRequests.length;
      for (const accept of [BROWSER_ACCEPT, 'application/json']) {
        const out = await app('/spoof', { headers: { ...spoofed, accept } });
        assert.ok(out.status === 302 || out.status === 401, `${accept}: ${out.status}`);
      }
      assert.equal(stack.appRequests.length, before);
    });

    it('ignores client-sent X-Forwarded-* and X-Original-URL: the proxy says which host and path', async () => {
      const res = await app('/real/path', {
        headers: { accept: BROWSER_ACCEPT, 'x-forwarded-host': 'evil.example.test', 'x-forwarded-uri': '/evil', 'x-forwarded-proto': 'https', 'x-original-url': 'http://evil.example.test/evil' },
      });
      assert.equal(res.status, 302, `${res.status} ${res.body}`);
      assert.equal(new URL(res.headers.location ?? '').searchParams.get('next'), appUrl('/real/path'));
    });

    it('answers an API request 401, not a redirect; a valid bearer token gets through', async () => {
      const before = stack.appRequests.length;
      const cases: Array<[string, Parameters<typeof send>[3]]> = [
        ['Accept: application/json', { headers: { accept: 'application/json' } }],
        ['no Accept', {}],
        ['Accept */*', { headers: { accept: '*/*' } }],
        ['a bad bearer token', { headers: { accept: BROWSER_ACCEPT, authorization: 'Bearer not.a.token' } }],
        ['a form POST', { method: 'POST', headers: { accept: BROWSER_ACCEPT, 'content-type': 'application/x-www-form-urlencoded' }, body: 'a=1' }],
      ];
      for (const [label, options] of cases) {
        const res = await app('/api/data', options);
        assert.equal(res.status, 401, `${label}: ${res.status} ${res.body}`);
        assert.equal(res.headers.location, undefined, `${label}: no redirect`);
        assert.equal((JSON.parse(res.body) as { error: { code: string } }).error.code.length > 0, true, `${label}: the error shape`);
      }
      assert.equal(stack.appRequests.length, before, 'the app was not reached');

      const { username } = await signUp();
      const token = await auth('/api/token', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password: GOOD_PASSWORD }) });
      assert.equal(token.status, 200, token.body);
      const access = (JSON.parse(token.body) as { access_token: string }).access_token;
      const res = await app('/api/data', { headers: { accept: 'application/json', authorization: `Bearer ${access}` } });
      assert.equal(res.status, 200, res.body);
      assert.equal(lastSeen()['remote-user'], username);
    });

    it('refuses a disabled user: back to the login page, 401 for the API, the app not reached', async () => {
      const { jar, username } = await signUp();
      assert.equal((await app('/', { headers: jar.header() })).status, 200);
      const disabled = spawnSync(process.execPath, [CLI, 'user', 'disable', '--username', username], { cwd: ROOT, env: stack.gatehouseEnv, encoding: 'utf8', timeout: 60_000 });
      assert.equal(disabled.status, 0, disabled.stderr);
      // Another process disabled the user: the server's one-second session cache lets it through for at most that long.
      await delay(1200);
      const before = stack.appRequests.length;
      const page = await app('/', { headers: { accept: BROWSER_ACCEPT, ...jar.header() } });
      assert.equal(page.status, 302, `${page.status} ${page.body}`);
      assert.ok((page.headers.location ?? '').startsWith(`${stack.publicUrl}/login?next=`));
      const api = await app('/', { headers: { accept: 'application/json', ...jar.header() } });
      assert.equal(api.status, 401);
      assert.equal(stack.appRequests.length, before, 'the app was not reached');
    });
  });
}

proxySuite('nginx', 'nginx', 'NGINX_PATH', startNginx, false);
proxySuite('Caddy', 'caddy', 'CADDY_PATH', startCaddy, true);
