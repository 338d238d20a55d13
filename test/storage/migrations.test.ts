/**
 * Shipped migrations are never edited. A database that already ran a migration never runs it
 * again, so an edit reaches new installs only and the schemas drift apart; a change to the schema
 * is a new migration instead. test/storage/migrations.sha256 (`sha256sum` format, paths from the
 * repository root) lists every migration with the SHA-256 of its text; src/storage/migrations/index.ts,
 * which only lists them, is not in it.
 *
 * A new migration is added to the list deliberately, in the same commit: the failure message
 * prints its line. Line endings are hashed as LF, so a CRLF checkout does not count as an edit.
 *
 * Checked: appending a comment to 20261206T0900-signing-key-activation.ts fails with the "was
 * edited" message; a new file 20261207T0000-example.ts fails with the line to add; deleting a line
 * from the list fails the same way.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

const ROOT = process.cwd();
const DIR = 'src/storage/migrations';
const LIST = 'test/storage/migrations.sha256';

function sha256(path: string): string {
  const text = readFileSync(join(ROOT, path), 'utf8').replace(/\r\n/g, '\n');
  return createHash('sha256').update(text).digest('hex');
}

/** The committed list: path → hash. */
function committed(): Map<string, string> {
  const entries = new Map<string, string>();
  for (const line of readFileSync(join(ROOT, LIST), 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    const match = /^([0-9a-f]{64}) [ *](\S+)$/.exec(line);
    assert.ok(match?.[1] && match[2], `${LIST}: not a sha256sum line: ${JSON.stringify(line)}`);
    assert.ok(!entries.has(match[2]), `${LIST}: ${match[2]} is listed twice`);
    entries.set(match[2], match[1]);
  }
  return entries;
}

describe('shipped migrations', () => {
  const files = readdirSync(join(ROOT, DIR))
    .filter((name) => name !== 'index.ts')
    .sort()
    .map((name) => `${DIR}/${name}`);
  const list = committed();

  it('finds the migrations (the folder and the list are where this test looks)', () => {
    assert.ok(files.length >= 3, `migrations in ${DIR}: ${files.join(', ')}`);
    assert.ok(list.size >= 3, `lines in ${LIST}: ${list.size}`);
  });

  it('are unchanged since they were listed', () => {
    for (const file of files) {
      const listed = list.get(file);
      if (listed === undefined) continue;
      assert.equal(
        sha256(file),
        listed,
        `${file} was edited after it shipped. Databases that already ran it will never see the change: ` +
          `restore it (git checkout -- ${file}) and put the change in a new migration.`,
      );
    }
  });

  it('are all in the list, and every listed migration still exists', () => {
    for (const file of files) {
      assert.ok(
        list.has(file),
        `${file} is a new migration: add it to ${LIST} deliberately, in the commit that adds it, with this line:\n${sha256(file)}  ${file}`,
      );
    }
    for (const file of list.keys()) {
      assert.ok(files.includes(file), `${file} is listed in ${LIST} but gone: a shipped migration is never removed (databases have run it).`);
    }
  });
});
