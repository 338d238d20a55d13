#!/usr/bin/env node
// `npm run screenshots`: regenerate docs/screenshots/*.png, the pictures in the README.
// Builds, runs the browser suite that visits every page (test/e2e/accessibility.test.ts, which
// writes under test-output/screenshots/ like every test) and the admin console's suite
// (test/e2e/admin.test.ts, the admin-* pictures of docs/admin.md), then copies the chosen ones to docs/.
// Tests never write tracked files; only this script does.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const SOURCE = join('test-output', 'screenshots');
const TARGET = join('docs', 'screenshots');
/** The README's pictures, by the names the suite gives them. */
const CHOSEN = [
  'login',
  'login-error',
  'signup-errors',
  'home',
  'bucketlists',
  'bucketlists-rename',
  'bucketlist',
  'account',
  'not-found',
  'login-mobile',
  'home-mobile',
  'bucketlists-mobile',
  'bucketlist-mobile',
  // docs/admin.md, from test/e2e/admin.test.ts
  'admin-dashboard',
  'admin-users',
  'admin-user',
  'admin-user-disable-confirm',
  'admin-apps-secret',
  'admin-audit',
  'admin-user-mobile',
];

function run(command, args, env = {}) {
  const result = spawnSync(command, args, { stdio: 'inherit', env: { ...process.env, ...env } });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

for (const name of CHOSEN) rmSync(join(SOURCE, `${name}.png`), { force: true });
run('npm', ['run', '--silent', 'build']);
// Without Chromium the suite would skip; here that must be an error.
run(process.execPath, ['--import', 'tsx', '--test', 'test/e2e/accessibility.test.ts', 'test/e2e/admin.test.ts'], { GATEHOUSE_REQUIRE_SERVICES: '1' });

const missing = CHOSEN.filter((name) => !existsSync(join(SOURCE, `${name}.png`)));
if (missing.length > 0) {
  console.error(`screenshots: the suite did not produce ${missing.join(', ')}`);
  process.exit(1);
}
mkdirSync(TARGET, { recursive: true });
for (const file of readdirSync(TARGET)) if (file.endsWith('.png')) rmSync(join(TARGET, file));
for (const name of CHOSEN) copyFileSync(join(SOURCE, `${name}.png`), join(TARGET, `${name}.png`));
console.log(`screenshots: wrote ${CHOSEN.length} files to ${TARGET}/`);
