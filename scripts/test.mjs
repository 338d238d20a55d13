#!/usr/bin/env node
// `npm test`: build once (process tests start the built server), then every suite.
// Suites under test/serial/ (timing, overload, crash) run afterwards, one at a time, alone.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

function run(command, args, env = {}) {
  const result = spawnSync(command, args, { stdio: 'inherit', env: { ...process.env, ...env } });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

function files(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true })
    .map(String)
    .filter((f) => f.endsWith('.test.ts'))
    .map((f) => join(dir, f))
    .sort();
}

const only = process.argv.slice(2);
run('npm', ['run', '--silent', 'build']);
const parallel = only.length > 0 ? only : ['unit', 'http', 'storage', 'e2e', 'process'].flatMap((d) => files(join('test', d)));
run(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', ...parallel]);
if (only.length === 0) {
  for (const file of files(join('test', 'serial'))) run(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', file]);
}
