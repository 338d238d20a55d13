#!/usr/bin/env node
// `npm run dev`: the API from its sources (restarting when they change) and the Vite dev server
// (hot reload for the web app) in one terminal. Open the Vite address: it proxies the API and
// the auth pages to the server, so cookies and the Origin rule see one origin.
// Run them apart with `npm run dev:api` and `npm run dev:web`.
//
// When the API fails (a bad setting, a port in use, a crash), the whole command stops with a
// non-zero status instead of leaving the web app talking to nothing; SIGINT and SIGTERM stop
// every child, grandchildren included (each child leads a process group of its own).
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const host = process.env.HOST ?? '127.0.0.1';
const port = process.env.PORT ?? '3000';
const apiUrl = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
const viteBin = join(dirname(createRequire(import.meta.url).resolve('vite/package.json')), 'bin', 'vite.js');

// Node's own watcher prints this line when the program it runs exits with an error.
const API_FAILED = /^Failed running /m;

const api = spawn(process.execPath, ['--watch', '--import', 'tsx', 'src/main.ts'], { stdio: ['inherit', 'pipe', 'pipe'], detached: true });
const web = spawn(process.execPath, [viteBin, '--config', 'web/vite.config.ts'], { stdio: 'inherit', detached: true, env: { ...process.env, GATEHOUSE_API_URL: apiUrl } });
const children = [api, web];
console.log(`dev: API on ${apiUrl}; open the web app at http://127.0.0.1:5173 (hot reload, API proxied)`);

let stopping = false;
function stop(code) {
  if (stopping) return;
  stopping = true;
  process.exitCode = code;
  for (const child of children) {
    if (child.exitCode !== null || child.signalCode !== null) continue;
    try {
      process.kill(-child.pid, 'SIGTERM');
    } catch {
      // Already gone.
    }
  }
}

for (const [from, to] of [
  [api.stdout, process.stdout],
  [api.stderr, process.stderr],
]) {
  from.on('data', (chunk) => {
    to.write(chunk);
    if (API_FAILED.test(chunk.toString())) {
      console.error('dev: the API failed to run; stopping (fix the error above and run `npm run dev` again)');
      stop(1);
    }
  });
}
for (const child of children) child.on('exit', (code, signal) => stop(stopping ? process.exitCode : code ?? (signal ? 1 : 0)));
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => stop(0));
