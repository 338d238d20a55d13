import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import type { SpawnSyncReturns } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, describe, it } from 'node:test';
import bcrypt from 'bcrypt';
import { PasswordHasher, passwordProblem } from '../../src/accounts/password.js';
import { OverloadedError } from '../../src/errors.js';
import { TEST_OUTPUT } from '../helpers/app.js';

/** Run `lines` as a script of their own (PasswordHasher imported), in a child process: how it ends is what is tested. */
function runWithHasher(name: string, timeoutMs: number, lines: string[]): SpawnSyncReturns<string> {
  const dir = join(TEST_OUTPUT, 'unit');
  mkdirSync(dir, { recursive: true });
  const script = join(dir, `${name}-${process.pid}.ts`);
  const hasherModule = pathToFileURL(join(process.cwd(), 'src/accounts/password.ts')).href;
  writeFileSync(script, [`import { PasswordHasher } from ${JSON.stringify(hasherModule)};`, ...lines].join('\n'));
  try {
    return spawnSync(process.execPath, ['--import', 'tsx', script], { encoding: 'utf8', timeout: timeoutMs });
  } finally {
    rmSync(script, { force: true });
  }
}

describe('passwordProblem', () => {
  it('counts UTF-8 bytes: 7 refused, 8 and 72 accepted, 73 refused', () => {
    assert.match(passwordProblem('k7#Lm2q') ?? '', /at least 8 bytes/);
    assert.equal(passwordProblem('k7#Lm2qZ'), null);
    assert.equal(passwordProblem('k7#Lm2qZ'.repeat(9)), null, '72 bytes');
    assert.match(passwordProblem(`${'k7#Lm2qZ'.repeat(9)}x`) ?? '', /at most 72 bytes/);
  });

  it('counts multi-byte characters in bytes, not characters', () => {
    // "é" is 2 bytes, "🔑" is 4: four characters but 8 bytes, and 36 "é" are 72 bytes.
    assert.equal(passwordProblem('éé🔑'), null);
    assert.match(passwordProblem('ééé') ?? '', /at least 8 bytes/, '3 characters, 6 bytes');
    assert.equal(passwordProblem('é'.repeat(36)), null);
    assert.match(passwordProblem(`${'é'.repeat(36)}a`) ?? '', /at most 72 bytes/, '37 characters, 73 bytes');
    assert.match(passwordProblem('🔑'.repeat(19)) ?? '', /at most 72 bytes/, '19 characters, 76 bytes');
  });

  it('counts the NFC form, as it is hashed', () => {
    // "e" + combining acute is 3 bytes decomposed, 2 bytes composed.
    const decomposed = 'e\u0301'.repeat(36);
    assert.equal(Buffer.byteLength(decomposed), 108);
    assert.equal(passwordProblem(decomposed), null);
  });

  it('refuses NUL, which bcrypt would stop at', () => {
    assert.match(passwordProblem('abcd\0efghijk') ?? '', /NUL/);
  });

  it('refuses text that is not well-formed Unicode, which would hash like other text', () => {
    assert.match(passwordProblem('abcdefgh\uD800') ?? '', /Unicode/);
    assert.match(passwordProblem('\uDC00abcdefgh') ?? '', /Unicode/);
    assert.equal(passwordProblem('abcdefgh\uD83D\uDD11'), null, 'a surrogate pair is fine');
  });

  it('refuses common passwords from the list, case-insensitively', () => {
    for (const common of ['password', 'PASSWORD', 'Baseball', '12345678', 'qwertyuiop', 'iloveyou', 'TrustNo1']) {
      assert.match(passwordProblem(common) ?? '', /too common/, common);
    }
    assert.equal(passwordProblem('correct horse battery staple'), null);
  });

  it('refuses the username as the password, whatever the case', () => {
    assert.match(passwordProblem('Alice_Smith', 'alice_smith') ?? '', /username/);
    assert.equal(passwordProblem('Alice_Smith!', 'alice_smith'), null);
  });
});

describe('PasswordHasher', () => {
  const hashers: PasswordHasher[] = [];
  const make = (cost: number, concurrency: number, queueMax: number) => {
    const hasher = new PasswordHasher(cost, concurrency, queueMax);
    hashers.push(hasher);
    return hasher;
  };
  after(async () => {
    await Promise.all(hashers.map((h) => h.close()));
  });

  it('hashes with bcrypt at the configured cost and verifies the same password only', async () => {
    const hasher = make(4, 2, 10);
    const hash = await hasher.hash('correct horse battery staple');
    assert.match(hash, /^\$2[aby]\$04\$/);
    assert.equal(bcrypt.getRounds(hash), 4);
    assert.equal(await hasher.verify('correct horse battery staple', hash), true);
    assert.equal(await hasher.verify('correct horse battery stapler', hash), false);
    assert.equal(await hasher.verify('Correct horse battery staple', hash), false);
  });

  it('verifies a password typed in another Unicode normal form', async () => {
    const hasher = make(4, 2, 10);
    const hash = await hasher.hash('caf\u00e9 au lait');
    assert.equal(await hasher.verify('cafe\u0301 au lait', hash), true);
  });

  it('never matches a password longer than 72 bytes, even when its first 72 bytes do', async () => {
    const hasher = make(4, 2, 10);
    const password = 'k7#Lm2qZ'.repeat(9);
    const hash = await hasher.hash(password);
    assert.equal(await hasher.verify(password, hash), true);
    assert.equal(await hasher.verify(`${password}extra`, hash), false, 'bcrypt alone would say true');
    assert.equal(await bcrypt.compare(`${password}extra`, hash), true, 'what the guard protects against');
  });

  it('verify with a null hash is false, also for the dummy password', async () => {
    const hasher = make(4, 2, 10);
    assert.equal(await hasher.verify('gatehouse-dummy-password', null), false);
    assert.equal(await hasher.verify('anything at all', null), false);
  });

  it('verify with a null hash still takes a hashing slot, as a real comparison does', async () => {
    // One slot, no queue: while a hash runs, anything else that hashes is shed. A verify that
    // skipped bcrypt for unknown users would return false here instead of being shed.
    const hasher = make(4, 1, 0);
    await hasher.dummyHash();
    const running = hasher.hash('occupies the only slot');
    await assert.rejects(hasher.verify('whatever password', null), OverloadedError);
    await running;
    assert.equal(await hasher.verify('whatever password', null), false);
  });

  it('needsRehash is true exactly when the stored cost differs from the configured one', async () => {
    const hash4 = await make(4, 1, 10).hash('correct horse battery staple');
    assert.equal(make(4, 1, 10).needsRehash(hash4), false);
    assert.equal(make(5, 1, 10).needsRehash(hash4), true);
    assert.equal(make(12, 1, 10).needsRehash(hash4), true);
  });

  it('queues up to queueMax waiters and sheds the rest with OverloadedError', async () => {
    const hasher = make(4, 1, 2);
    const first = hasher.hash('password number one');
    assert.equal(hasher.inFlight, 1);
    const second = hasher.hash('password number two');
    const third = hasher.hash('password number three');
    assert.equal(hasher.queueDepth, 2);
    const error = await hasher.hash('password number four').then(
      () => null,
      (e: unknown) => e,
    );
    assert.ok(error instanceof OverloadedError);
    assert.equal(error.statusCode, 503);
    assert.equal(error.code, 'overloaded');
    assert.ok(error.retryAfterSeconds >= 1);
    const hashes = await Promise.all([first, second, third]);
    assert.equal(hashes.length, 3);
    assert.equal(hasher.inFlight, 0);
    assert.equal(hasher.queueDepth, 0);
    // Capacity comes back once the queue drains.
    assert.equal(await hasher.verify('password number two', hashes[1] ?? ''), true);
  });

  it('does not keep a finished process alive once its hashes are done (regression: idle hash threads held the CLI open)', () => {
    // No close(): the process must still end on its own. The timeout only stops a hang.
    const child = runWithHasher('hash-and-exit', 20_000, [
      'const hasher = new PasswordHasher(4, 2, 10);',
      "const hash = await hasher.hash('correct horse battery staple');",
      "process.stdout.write(String(await hasher.verify('correct horse battery staple', hash)));",
    ]);
    assert.equal(child.signal, null, 'the process had to be killed: something kept it alive');
    assert.equal(child.status, 0, child.stderr);
    assert.equal(child.stdout, 'true');
  });

  it('close() lets a started hash finish and never aborts the process, however soon it comes and however often (regression: terminating a thread mid-load aborted the test run)', () => {
    // Closing 0–15 ms after the first hash is asked for lands while the threads load bcrypt,
    // while they hash, and after; before the fix about one close in a hundred aborted.
    const child = runWithHasher('close-early', 60_000, [
      'let hashed = 0;',
      'for (let i = 0; i < 100; i += 1) {',
      '  const hasher = new PasswordHasher(4, 2, 10);',
      "  const hash = hasher.hash('correct horse battery staple').then((h) => { if (h.startsWith('$2b$04$')) hashed += 1; });",
      '  await new Promise((resolve) => setTimeout(resolve, i % 16));',
      '  await Promise.all([hasher.close(), hasher.close()]);',
      '  await hash;',
      '}',
      'process.stdout.write(String(hashed));',
    ]);
    assert.equal(child.signal, null, `the process was stopped by ${child.signal}: ${child.stderr}`);
    assert.equal(child.status, 0, child.stderr);
    assert.equal(child.stdout, '100', 'every hash asked for before close() finished');
  });
});
