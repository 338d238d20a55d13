import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { TEST_OUTPUT } from '../helpers/app.js';

describe('the web build', () => {
  it('is the production build whatever NODE_ENV says, with the placeholders the server fills', () => {
    // Found when a `NODE_ENV=test npm start` left React's development bundle in web/dist.
    const outDir = join(TEST_OUTPUT, `web-build-${randomUUID()}`);
    try {
      const result = spawnSync(process.execPath, ['node_modules/vite/bin/vite.js', 'build', '--config', 'web/vite.config.ts', '--outDir', outDir, '--emptyOutDir', '--logLevel', 'error'], {
        env: { ...process.env, NODE_ENV: 'development' },
        encoding: 'utf8',
      });
      assert.equal(result.status, 0, result.stderr);
      const html = readFileSync(join(outDir, 'index.html'), 'utf8');
      assert.ok(html.includes('<div id="root"><!--gatehouse:app--></div>'));
      assert.ok(html.includes('<!--gatehouse:data-->'));
      assert.match(html, /<script type="module" crossorigin src="\/assets\/index-[\w-]+\.js"><\/script>/);
      const scripts = readdirSync(join(outDir, 'assets')).filter((f) => f.endsWith('.js'));
      assert.equal(scripts.length, 1);
      const bundle = readFileSync(join(outDir, 'assets', scripts[0] ?? ''), 'utf8');
      assert.ok(!bundle.includes('jsxDEV') && !bundle.includes('react-devtools'), 'no development React in the bundle');
    } finally {
      rmSync(outDir, { recursive: true, force: true });
    }
  });
});
