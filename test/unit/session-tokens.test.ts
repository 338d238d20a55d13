import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { constantTimeEqual, randomToken, sha256Hex } from '../../src/sessions/tokens.js';

describe('session token helpers', () => {
  it('randomToken: 256 random bits, URL-safe, never repeating', () => {
    const tokens = new Set(Array.from({ length: 1000 }, () => randomToken()));
    assert.equal(tokens.size, 1000);
    for (const token of tokens) {
      assert.match(token, /^[A-Za-z0-9_-]{43}$/);
      assert.equal(Buffer.from(token, 'base64url').length, 32);
    }
  });

  it('sha256Hex is the hex SHA-256 of the UTF-8 text', () => {
    assert.equal(sha256Hex('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    assert.equal(sha256Hex('é'), createHash('sha256').update(Buffer.from('é', 'utf8')).digest('hex'));
  });

  it('constantTimeEqual compares exactly, including lengths and non-ASCII text', () => {
    assert.equal(constantTimeEqual('same-value', 'same-value'), true);
    assert.equal(constantTimeEqual('same-value', 'same-valuE'), false);
    assert.equal(constantTimeEqual('short', 'shorter'), false);
    assert.equal(constantTimeEqual('', ''), true);
    assert.equal(constantTimeEqual('é', 'e\u0301'), false);
  });
});
