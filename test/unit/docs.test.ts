import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import { PASSWORD_MIN_BYTES } from '../../src/accounts/password.js';
import { fences, SHOWN_LANGUAGES } from '../helpers/doc-examples.js';

describe('docs/errors.md', () => {
  const source = readFileSync('src/errors.ts', 'utf8');
  const docs = readFileSync('docs/errors.md', 'utf8');

  it('lists every error code of src/errors.ts with its status', () => {
    const union = /export type ErrorCode =([^;]+);/.exec(source)?.[1] ?? '';
    const codes = [...union.matchAll(/'([a-z_]+)'/g)].map((m) => m[1] ?? '');
    assert.ok(codes.length >= 18, `found ${codes.length} codes`);
    // Status per code, from the classes (`super('code', 409, …)`) and ConflictError's shared 409.
    const statuses = new Map([...source.matchAll(/super\('([a-z_]+)', (\d{3})/g)].map((m) => [m[1], m[2]]));
    for (const code of ['username_taken', 'email_taken', 'conflict', 'last_admin']) statuses.set(code, '409');
    statuses.set('internal_error', '500');
    for (const code of codes) {
      const status = statuses.get(code);
      assert.ok(status, `no status found for ${code} in src/errors.ts`);
      assert.ok(docs.includes(`| \`${code}\` | ${status} |`), `docs/errors.md lacks the row for ${code} (${status})`);
    }
  });
});

const DOCUMENTS = ['README.md', ...readdirSync('docs').filter((f) => f.endsWith('.md')).sort().map((f) => `docs/${f}`)];
const read = (document: string) => readFileSync(document, 'utf8');

describe('README.md and docs/*.md', () => {
  it('label every block: sh is run by the docs test, the others are shown', () => {
    for (const document of DOCUMENTS) {
      for (const fence of fences(read(document))) {
        // "bash" or "shell" would leave the reader (and the test) guessing whether it runs.
        assert.ok(fence.lang === 'sh' || SHOWN_LANGUAGES.has(fence.lang), `${document}:${fence.line}: a block labelled "${fence.lang}"; use sh (run by the docs test) or one of ${[...SHOWN_LANGUAGES].filter(Boolean).join(', ')}`);
      }
    }
  });

  it("give alice the same password and email everywhere", () => {
    let seen = 0;
    for (const document of DOCUMENTS) {
      for (const fence of fences(read(document))) {
        for (const match of fence.body.matchAll(/"username"\s*:\s*"(alice(?:@example\.com)?)"[^}]*?"password"\s*:\s*"([^"]*)"/g)) {
          seen++;
          assert.equal(match[2], 'correct horse battery staple', `${document}:${fence.line}: alice's password`);
        }
        for (const match of fence.body.matchAll(/\(\s*"alice"\s*,\s*"([^"]*)"\s*\)/g)) {
          seen++;
          assert.equal(match[1], 'correct horse battery staple', `${document}:${fence.line}: alice's password`);
        }
        for (const match of fence.body.matchAll(/"email"\s*:\s*"(alice[^"]*)"/g)) assert.equal(match[1], 'alice@example.com', `${document}:${fence.line}: alice's email`);
      }
    }
    assert.ok(seen >= 8, `found alice's password ${seen} times`);
  });

  it('quote the size of the common-password list as the server counts it', () => {
    // The rule of src/accounts/password.ts: the zxcvbn-ts list's entries a password could otherwise be.
    const require = createRequire(import.meta.url);
    const { dictionary } = require('@zxcvbn-ts/language-common') as { dictionary: Record<string, string[]> };
    const size = new Set((dictionary['passwords-common'] ?? []).filter((p) => Buffer.byteLength(p) >= PASSWORD_MIN_BYTES).map((p) => p.toLowerCase())).size;
    const expected = size.toLocaleString('en-US');
    let quoted = 0;
    for (const document of DOCUMENTS) {
      const text = read(document).replace(/\s+/g, ' ');
      for (const match of text.matchAll(/(\d[\d,]*)(?:-entry| entries)/g)) {
        const around = text.slice(Math.max(0, (match.index ?? 0) - 120), (match.index ?? 0) + 120);
        if (!/common|zxcvbn/i.test(around)) continue;
        quoted++;
        assert.equal(match[1], expected, `${document} quotes ${match[1]} common passwords; the server refuses ${expected}`);
      }
    }
    assert.ok(quoted >= 2, 'the docs say how many common passwords are refused');
  });

  it('name the npm package gatehouse-auth ("gatehouse" on the registry is another project)', () => {
    for (const document of DOCUMENTS) {
      const text = read(document);
      assert.doesNotMatch(text, /npm (?:install|i|add) gatehouse(?!-auth)\b/, document);
      assert.doesNotMatch(text, /from ['"]gatehouse(?:\/[\w/]*)?['"]/, document);
    }
  });
});
