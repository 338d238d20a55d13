import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import { PASSWORD_MIN_BYTES } from '../../src/accounts/password.js';
import { ERROR_STATUS } from '../../src/errors.js';
import { fences, SHOWN_LANGUAGES } from '../helpers/doc-examples.js';

describe('docs/errors.md', () => {
  const source = readFileSync('src/errors.ts', 'utf8');
  const docs = readFileSync('docs/errors.md', 'utf8');

  it('lists every error code of src/errors.ts with its status', () => {
    const codes = Object.keys(ERROR_STATUS) as Array<keyof typeof ERROR_STATUS>;
    assert.ok(codes.length >= 18, `found ${codes.length} codes`);
    for (const code of codes) assert.ok(docs.includes(`| \`${code}\` | ${ERROR_STATUS[code]} |`), `docs/errors.md lacks the row for ${code} (${ERROR_STATUS[code]})`);
  });

  it("gives each error class the status ERROR_STATUS says (the OpenAPI document's Error4xx schemas are built from it)", () => {
    const thrown = [...source.matchAll(/super\('([a-z_]+)', (\d{3})/g)].map((m) => [m[1] ?? '', Number(m[2])] as const);
    assert.ok(thrown.length >= 15, `found ${thrown.length} classes`);
    for (const [code, status] of thrown) assert.equal(ERROR_STATUS[code as keyof typeof ERROR_STATUS], status, code);
    assert.ok(/super\(code, 409,/.test(source), "ConflictError's codes are 409");
    for (const code of ['username_taken', 'email_taken', 'conflict', 'last_admin'] as const) assert.equal(ERROR_STATUS[code], 409);
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
