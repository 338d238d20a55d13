/**
 * safeNextPath: where a form login or a signed-in GET /login sends the browser.
 *
 * Checked against the old code (HEAD before this change, run from a copy of the tree): the
 * dot-segment rows fail there, e.g. `/.//evil.example` came back as `//evil.example`.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { echoedNext, safeNext, safeNextPath } from '../../src/server/pages/next-path.js';
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

/** safeNext: the same rules, plus absolute URLs on FORWARD_AUTH_HOSTS (forward authentication). */
describe('safeNext', () => {
  const hosts = ['app.example.com', '*.apps.example.com'];

  it('gives every same-origin case the answer safeNextPath gives, with or without protected hosts', () => {
    for (const [next, expected] of NEXT_CASES) {
      assert.equal(safeNext(next, hosts), expected, next);
      assert.equal(safeNext(next, []), expected, next);
      assert.equal(echoedNext(expected), expected, `${next}: echoing a safe path changes nothing`);
    }
  });

  it('lets through an absolute http(s) URL whose parsed host is protected, and nothing else absolute', () => {
    assert.equal(safeNext('https://app.example.com/x?y=1#z', hosts), 'https://app.example.com/x?y=1#z');
    assert.equal(safeNext('http://deep.er.apps.example.com:8080', hosts), 'http://deep.er.apps.example.com:8080/');
    for (const next of [
      'https://apps.example.com/',
      'https://evil.example/',
      'https://app.example.com@evil.example/',
      'https://app.example.com:pw@evil.example/',
      'https://user@app.example.com/',
      'https://evil.example\\@app.example.com/',
      'https://evil.example%2F@app.example.com/',
      'https://app.example.com%2F@evil.example/',
      'https:app.example.com',
      '//app.example.com/',
      'javascript://app.example.com/%0aalert(1)',
      'data:text/html,https://app.example.com/',
    ]) {
      assert.equal(safeNext(next, hosts), '/', next);
      assertSameOriginPath(safeNext(next, hosts), next);
    }
    assert.equal(safeNext('https://app.example.com/', []), '/', 'no protected hosts: no absolute URL');
  });

  it('echoes an absolute URL into a form only when it is a well-formed http(s) URL without user info', () => {
    assert.equal(echoedNext('https://app.example.com/x'), 'https://app.example.com/x');
    assert.equal(echoedNext('https://user@app.example.com/x'), '/');
    assert.equal(echoedNext('javascript:alert(1)'), '/');
    assert.equal(echoedNext('/.//evil.example'), '/evil.example');
  });
});
