// Finding 13 (security review): under npm 11, package.json "allowScripts" only warns about other
// packages' install scripts unless `strict-allow-scripts` is set. On the old code (no .npmrc) the
// first test failed reading the file. The npm side was checked by hand in a scratch clone: a fresh
// `npm ci` builds bcrypt, better-sqlite3 and esbuild, and refuses (ESTRICTALLOWSCRIPTS) once
// esbuild is taken out of allowScripts.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

const ROOT = process.cwd();

interface LockEntry {
  name?: string;
  version?: string;
  hasInstallScript?: boolean;
}

/** `key=value` lines of an ini file, comments and blanks left out. */
function npmrc(): Map<string, string> {
  const settings = new Map<string, string>();
  for (const line of readFileSync(join(ROOT, '.npmrc'), 'utf8').split('\n')) {
    const text = line.trim();
    if (text === '' || text.startsWith('#') || text.startsWith(';')) continue;
    const eq = text.indexOf('=');
    settings.set(text.slice(0, eq).trim(), text.slice(eq + 1).trim());
  }
  return settings;
}

/** The package name of a lockfile path: `node_modules/a/node_modules/@s/b` → `@s/b`. */
function packageName(path: string, entry: LockEntry): string {
  return entry.name ?? path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length);
}

describe('install scripts are opt-in, enforced', () => {
  it('.npmrc turns npm\'s allowScripts notice into an error', () => {
    assert.equal(npmrc().get('strict-allow-scripts'), 'true');
  });

  it('every locked package with an install script is listed in package.json allowScripts', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { allowScripts?: Record<string, boolean> };
    const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };
    const allowed = pkg.allowScripts ?? {};
    const withScripts = Object.entries(lock.packages).filter(([path, entry]) => path !== '' && entry.hasInstallScript === true);
    assert.ok(withScripts.length > 0, 'bcrypt and better-sqlite3 have install scripts');
    for (const [path, entry] of withScripts) {
      const name = packageName(path, entry);
      // npm accepts a bare name or a pinned name@version; true approves, false denies (skipped silently).
      const reviewed = typeof allowed[name] === 'boolean' || typeof allowed[`${name}@${entry.version ?? ''}`] === 'boolean';
      assert.ok(reviewed, `${name}@${entry.version ?? '?'} (${path}) has an install script: review it, then approve it in allowScripts (true) or deny it (false)`);
    }
  });
});
