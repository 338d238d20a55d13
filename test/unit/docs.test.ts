import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';

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
