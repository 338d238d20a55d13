import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, delimiter, dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { fences, runExamples } from '../helpers/doc-examples.js';
import { freePort } from '../helpers/ports.js';

// The convention these tests hold the documents to is in test/helpers/doc-examples.ts and, for
// readers, in docs/api.md#examples.

const ROOT = process.cwd();
const OUTPUT = join(ROOT, 'test-output', 'docs-examples');
const MAIN = join(ROOT, 'dist/src/main.js');
const DOCUMENTS = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).sort().map((f) => `docs/${f}`)];
const RUNNABLE = DOCUMENTS.filter((document) => fences(readFileSync(join(ROOT, document), 'utf8')).some((fence) => fence.lang === 'sh'));


/** What the server and the examples (their `npx gatehouse …` commands included) both see. */
function environment(port: number, dir: string): NodeJS.ProcessEnv {
  return {
    PATH: [dirname(process.execPath), process.env.PATH ?? ''].join(delimiter),
    HOME: process.env.HOME,
    LANG: 'C.UTF-8',
    NODE_ENV: 'development',
    HOST: '127.0.0.1',
    PORT: String(port),
    DATABASE_URL: `sqlite:${join(dir, 'gatehouse.db')}`,
    BCRYPT_COST: '4',
    LOG_LEVEL: 'silent',
    // npx must find this checkout's command and nothing else: no registry, no update check.
    npm_config_offline: 'true',
    npm_config_update_notifier: 'false',
    npm_config_fund: 'false',
    npm_config_audit: 'false',
  };
}

interface Server {
  url: string;
  env: NodeJS.ProcessEnv;
  stop(): Promise<void>;
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** The built server on a fresh SQLite file in `dir`, on a free loopback port. */
async function startServer(dir: string, attempt = 1): Promise<Server> {
  const port = await freePort();
  const env = environment(port, dir);
  // The working directory is the document's own, so no .env of the checkout applies.
  const child = spawn(process.execPath, [MAIN], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited(child);
    clearTimeout(killer);
  };
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      // Another process took the port between freePort() and the listen: try another one.
      if (/EADDRINUSE/.test(output) && attempt < 3) return startServer(dir, attempt + 1);
      assert.fail(`the server exited before answering:\n${output}`);
    }
    try {
      if ((await fetch(`${url}/healthz`)).status === 200) return { url, env, stop };
    } catch {
      // Not listening yet.
    }
    await delay(100);
  }
  await stop();
  assert.fail(`the server did not answer within 30 s:\n${output}`);
}

// A failed run keeps its directory for inspection (its message names it); otherwise nothing stays.
after(() => {
  if (existsSync(OUTPUT) && readdirSync(OUTPUT).length === 0) rmSync(OUTPUT, { recursive: true, force: true });
});

describe('the shell examples of README.md and docs/*.md', () => {
  const running = new Set<Server>();
  mkdirSync(OUTPUT, { recursive: true });
  after(async () => {
    for (const server of running) await server.stop();
  });

  async function start(dir: string): Promise<Server> {
    assert.ok(existsSync(MAIN), 'run `npm run build` first (npm test does): dist/src/main.js is missing');
    const server = await startServer(dir);
    running.add(server);
    return server;
  }

  async function stop(server: Server): Promise<void> {
    await server.stop();
    running.delete(server);
  }

  /** Run `markdown` against `server`; resolves to the failure message (or null) and the session's directory. */
  async function run(document: string, markdown: string, server: Server): Promise<{ failure: string | null; dir: string }> {
    const dir = mkdtempSync(join(OUTPUT, `${basename(document, '.md')}-`));
    return { failure: await runExamples({ document, markdown, url: server.url, dir, env: server.env, timeoutMs: 120_000 }), dir };
  }

  it('finds the documents with examples', () => {
    for (const document of ['README.md', 'docs/api.md', 'docs/tokens.md', 'docs/resources.md']) assert.ok(RUNNABLE.includes(document), document);
  });

  for (const document of RUNNABLE) {
    it(`${document}: every example runs and answers as it states`, async () => {
      // A fresh server and database for each document, as the documents say.
      const dir = mkdtempSync(join(OUTPUT, `${basename(document, '.md')}-server-`));
      const server = await start(dir);
      let failure: string | null;
      let session: string;
      try {
        ({ failure, dir: session } = await run(document, readFileSync(join(ROOT, document), 'utf8'), server));
      } finally {
        await stop(server);
      }
      if (failure) assert.fail(failure);
      for (const path of [session, dir]) rmSync(path, { recursive: true, force: true });
    });
  }

  it('names the document, the block, the line and the command of a failing example', async () => {
    const dir = mkdtempSync(join(OUTPUT, 'made-up-server-'));
    const server = await start(dir);
    const sessions: string[] = [dir];
    async function failure(markdown: string): Promise<string> {
      const result = await run('docs/made-up.md', markdown, server);
      sessions.push(result.dir);
      assert.ok(result.failure, 'the made-up document fails');
      return result.failure;
    }
    try {
      const markdown = [
        '# Example',
        '',
        '```sh',
        'BASE=http://127.0.0.1:3000',
        '```',
        '',
        '```sh',
        'curl -s $BASE/healthz',
        '# 200 {"status":"ok"}',
        'curl -s \\',
        '     $BASE/api/me',
        '# 200 {"id":1}',
        '```',
      ].join('\n');
      assert.match(
        await failure(markdown),
        /^docs\/made-up\.md, sh block 2 \(docs\/made-up\.md:10\):\n {4}curl -s \\\n {9}\$BASE\/api\/me\n {2}states 200, but the server answered 401:\n.*"unauthenticated"/,
      );
      assert.match(
        await failure('```sh\ncurl -s http://127.0.0.1:3000/healthz\n# 200 {"status":"ok","uptime":1}\n```\n'),
        /sh block 1 \(docs\/made-up\.md:2\):\n {4}curl -s http:\/\/127\.0\.0\.1:3000\/healthz\n {2}the answer lacks the key\(s\) "uptime"/,
      );
      const failed = await failure("```sh\nTOKEN=$(curl -s http://127.0.0.1:3000/healthz | sed -E 's/x/y/')\ntest \"$TOKEN\" = nothing\necho never\n```\n");
      assert.match(failed, /sh block 1 \(docs\/made-up\.md:3\):\n {4}test "\$TOKEN" = nothing\n {2}failed with exit status 1/);
      assert.doesNotMatch(failed, /never\n/, 'the run stops at the failing command');
      assert.match(await failure('```sh\ncurl -s http://127.0.0.1:1/ && echo reached\n```\n'), /sh block 1 \(docs\/made-up\.md:2\):\n.*\n {2}failed with exit status 7 \(at: curl -s http:\/\/127\.0\.0\.1:1\/\)/);
      assert.match(await failure('```sh\nnpx gatehouse user create --username admin --admin\n```\n'), /would ask for a password on a terminal: pipe it in/);
    } finally {
      await stop(server);
    }
    for (const path of sessions) rmSync(path, { recursive: true, force: true });
  });
});

describe('the gatehouse-auth package, as the docs tell other services to install it', () => {
  it('would publish the verifier with its types, the command and what the server reads at run time', () => {
    assert.ok(existsSync(join(ROOT, 'dist/src/verify/index.js')), 'run `npm run build` first (npm test does)');
    // --ignore-scripts: prepack would rebuild dist/ under the suites running beside this one.
    const packed = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, npm_config_offline: 'true', npm_config_update_notifier: 'false' },
      timeout: 120_000,
    });
    assert.equal(packed.status, 0, packed.stderr);
    const [manifest] = JSON.parse(packed.stdout) as Array<{ name: string; files: Array<{ path: string }> }>;
    assert.ok(manifest);
    assert.equal(manifest.name, 'gatehouse-auth');
    const files = new Set(manifest.files.map((f) => f.path));
    for (const file of ['dist/src/verify/index.js', 'dist/src/verify/index.d.ts', 'dist/src/main.js', 'bin/gatehouse.js', 'src/server/pages/auth.css', 'web/dist/index.html']) {
      assert.ok(files.has(file), `the package lacks ${file}`);
    }
    assert.ok(![...files].some((f) => f.startsWith('test/') || f.startsWith('test-output/')), 'tests are not published');
  });

  it('every name the docs import from gatehouse-auth/verify is exported by the built module', () => {
    const declarations = readFileSync(join(ROOT, 'dist/src/verify/index.d.ts'), 'utf8');
    const exported = new Set([...declarations.matchAll(/^export (?:declare )?(?:class|function|const|interface|type) (\w+)/gm)].map((m) => m[1]));
    assert.ok(exported.has('createVerifier'), 'the declarations were read');
    let imports = 0;
    for (const document of DOCUMENTS) {
      for (const fence of fences(readFileSync(join(ROOT, document), 'utf8'))) {
        for (const match of fence.body.matchAll(/import\s*(?:type\s*)?\{([^}]*)\}\s*from\s*'gatehouse-auth\/verify'/g)) {
          for (const name of (match[1] ?? '').split(',').map((n) => n.trim().replace(/^type\s+/, '').split(/\s+as\s+/)[0] ?? '').filter(Boolean)) {
            imports++;
            assert.ok(exported.has(name), `${document}:${fence.line} imports ${name}, which gatehouse-auth/verify does not export`);
          }
        }
      }
    }
    assert.ok(imports > 0, 'the docs show how to import the verifier');
  });

  it("docs/tokens.md's verifier example type-checks against the package's declarations", () => {
    const example = fences(readFileSync(join(ROOT, 'docs/tokens.md'), 'utf8')).find((fence) => fence.attrs.file === 'check-token.mjs');
    assert.ok(example, 'docs/tokens.md has the check-token.mjs example');
    // Inside the checkout, `gatehouse-auth/verify` resolves to this package itself, as it would
    // from a service's node_modules: through "exports", to dist/src/verify/index.d.ts.
    mkdirSync(OUTPUT, { recursive: true });
    const dir = mkdtempSync(join(OUTPUT, 'typecheck-'));
    writeFileSync(join(dir, 'check-token.mjs'), example.body);
    const tsc = join(ROOT, 'node_modules/.bin/tsc');
    const args = ['--noEmit', '--allowJs', '--checkJs', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--types', 'node', '--skipLibCheck', 'check-token.mjs'];
    const checked = spawnSync(tsc, args, { cwd: dir, encoding: 'utf8', timeout: 120_000 });
    assert.equal(checked.status, 0, `tsc ${args.join(' ')}\n${checked.stdout}${checked.stderr}`);
    rmSync(dir, { recursive: true, force: true });
  });
});
