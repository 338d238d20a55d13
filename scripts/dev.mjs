#!/usr/bin/env node
// `npm run dev`: the API with tsx watch (restarts on server changes) and the Vite dev server
// (hot reload for the web app) in one terminal. Open the Vite address: it proxies the API and
// the auth pages to the server, so cookies and the Origin rule see one origin.
// Run them apart with `npm run dev:api` and `npm run dev:web`.
import { spawn } from 'node:child_process';

const host = process.env.HOST ?? '127.0.0.1';
const port = process.env.PORT ?? '3000';
const apiUrl = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
const npx = process.platform === 'win32' ? 'npx.cmd' : 'npx';

const children = [
  spawn(npx, ['tsx', 'watch', 'src/main.ts'], { stdio: 'inherit' }),
  spawn(npx, ['vite', '--config', 'web/vite.config.ts'], { stdio: 'inherit', env: { ...process.env, GATEHOUSE_API_URL: apiUrl } }),
];
console.log(`dev: API on ${apiUrl}; open the web app at http://127.0.0.1:5173 (hot reload, API proxied)`);

let stopping = false;
function stop(code) {
  if (stopping) return;
  stopping = true;
  for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
  process.exitCode = code;
}
for (const child of children) child.on('exit', (code) => stop(code ?? 0));
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => stop(0));
