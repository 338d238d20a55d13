// Finding 22 (security review). On the old code there was no key handling to call (the loop lived
// inside readPassword and appended ^H and ^D to the password): this file failed to import there.
// The terminal itself is exercised in test/process/start.test.ts through a pseudo-terminal.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyKeys } from '../../src/cli/read-password.js';
import type { PromptState } from '../../src/cli/read-password.js';

const START: PromptState = { status: 'typing', typed: '' };

/** Keys as they arrive, one chunk after another. */
function type(...chunks: string[]): PromptState {
  return chunks.reduce(applyKeys, START);
}

describe('applyKeys: the password prompt as a line editor', () => {
  it('Enter (CR or LF) submits what was typed', () => {
    assert.deepEqual(type('hunter22\r'), { status: 'submitted', typed: 'hunter22' });
    assert.deepEqual(type('hunter', '22\n'), { status: 'submitted', typed: 'hunter22' });
    assert.deepEqual(type('abc'), { status: 'typing', typed: 'abc' });
  });

  it('Backspace (DEL) and ^H delete one character', () => {
    assert.deepEqual(type('abcd\u007f\u007fx\r'), { status: 'submitted', typed: 'abx' });
    assert.deepEqual(type('abcd\bx\r'), { status: 'submitted', typed: 'abcx' });
    assert.deepEqual(type('\b\u007fa\r'), { status: 'submitted', typed: 'a' }, 'on an empty line they do nothing');
  });

  it('Backspace deletes one code point, never half of a surrogate pair', () => {
    assert.deepEqual(type('pass😀\u007f\r'), { status: 'submitted', typed: 'pass' });
    assert.deepEqual(type('pass😀', '\b', 'é\r'), { status: 'submitted', typed: 'passé' });
    const result = type('a𝄞\u007f\r');
    assert.equal(result.status === 'submitted' && result.typed, 'a');
  });

  it('^U clears the line', () => {
    assert.deepEqual(type('wrong\u0015right\r'), { status: 'submitted', typed: 'right' });
  });

  it('^C interrupts, wherever it comes', () => {
    assert.deepEqual(type('abc\u0003'), { status: 'interrupted' });
    assert.deepEqual(type('\u0003'), { status: 'interrupted' });
  });

  it('^D closes on an empty line and submits otherwise, as Enter would', () => {
    assert.deepEqual(type('\u0004'), { status: 'closed' });
    assert.deepEqual(type('abc\u0015\u0004'), { status: 'closed' }, 'empty again after ^U');
    assert.deepEqual(type('secret\u0004'), { status: 'submitted', typed: 'secret' });
  });

  it('other control characters and escape sequences are ignored, never stored', () => {
    assert.deepEqual(type('a\tb\u0000c\u001bd\u0007e\u0085\r'), { status: 'submitted', typed: 'abce' }, 'Alt+d (ESC d) is not a character either');
    // Arrow keys, Delete, Home/End (CSI), F1 (SS3), a modified arrow (CSI with parameters).
    assert.deepEqual(type('ab\u001b[D\u001b[3~\u001b[H\u001bOP\u001b[1;5Cc\r'), { status: 'submitted', typed: 'abc' });
    assert.deepEqual(type('ab\u001b', 'c\r'), { status: 'submitted', typed: 'abc' }, 'a lone Escape key press swallows nothing after it');
  });

  it('keeps every printable character, non-ASCII included', () => {
    assert.deepEqual(type('Grüße, 東京 ~!@#$%^&*()_+[]\r'), { status: 'submitted', typed: 'Grüße, 東京 ~!@#$%^&*()_+[]' });
  });

  it('ignores keys after the prompt finished', () => {
    const done = type('first\r');
    assert.equal(applyKeys(done, 'more\r'), done);
    assert.deepEqual(type('one\rtwo\r'), { status: 'submitted', typed: 'one' }, 'within one chunk too');
  });
});
