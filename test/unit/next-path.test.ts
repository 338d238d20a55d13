/**
 * safeNextPath: where a form login or a signed-in GET /login sends the browser.
 *
 * Checked against the old code (HEAD before this change, run from a copy of the tree): the
 * dot-segment rows fail there, e.g. `/.//evil.example` came back as `//evil.example`.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { safeNextPath } from '../../src/server/pages/next-path.js';
import { assertSameOriginPath, NEXT_CASES } from '../helpers/next-paths.js';

describe('safeNextPath', () => {
  for (const [next, expected] of NEXT_CASES) {
    it(`${JSON.stringify(next)} → ${JSON.stringify(expected)}`, () => {
      const result = safeNextPath(next);
      assert.equal(result, expected);
      assertSameOriginPath(result, next);
      assert.equal(safeNextPath(result), result, 'sanitizing twice changes nothing (the login form echoes it)');
    });
  }

  it('refuses what is not a string or is too long', () => {
    for (const value of [undefined, null, 42, ['/x'], { toString: () => '/x' }, `/${'a'.repeat(2048)}`]) {
      assert.equal(safeNextPath(value), '/');
    }
  });

  it('keeps every combination of dot, empty, encoded and backslash segments on the site', () => {
    const pieces = ['', '.', '..', '%2e', '%2E%2E', '\\', 'a', 'evil.example', '%2F', '@evil.example', ':80'];
    let checked = 0;
    for (const a of pieces) {
      for (const b of pieces) {
        for (const c of pieces) {
          const next = `/${a}/${b}/${c}`;
          assertSameOriginPath(safeNextPath(next), next);
          checked += 1;
        }
      }
    }
    assert.equal(checked, pieces.length ** 3);
  });
});
