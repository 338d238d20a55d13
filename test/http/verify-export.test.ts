import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { SignJWT, decodeJwt, decodeProtectedHeader, generateKeyPair } from 'jose';
import { KeyVault, rotateSigningKey } from '../../src/tokens/keys.js';
import { InvalidAccessTokenError, KeySetUnavailableError, bearerToken, createVerifier } from '../../src/verify/index.js';
import type { Verifier, VerifierOptions } from '../../src/verify/index.js';
import { fakeClock, GOOD_PASSWORD, signUpClient, startTestServer, uniqueName } from '../helpers/app.js';
import type { FakeClock, TestServer } from '../helpers/app.js';

interface TokenPair {
  access_token: string;
  refresh_token: string;
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  assert.fail('expected the promise to reject');
}

async function assertInvalid(verifier: Verifier, token: string, reason?: string): Promise<void> {
  const error = await rejection(verifier.verify(token));
  assert.ok(error instanceof InvalidAccessTokenError, `expected InvalidAccessTokenError, got ${String(error)}`);
  assert.equal(error.code, 'invalid_token');
  if (reason) assert.equal(error.reason, reason);
}

describe('gatehouse-auth/verify against a running server', () => {
  let server: TestServer;
  let clock: FakeClock;
  let options: VerifierOptions;
  let verifier: Verifier;
  let user: { id: number; username: string };

  async function tokens(): Promise<TokenPair> {
    const res = await fetch(`${server.url}/api/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: user.username, password: GOOD_PASSWORD }),
    });
    assert.equal(res.status, 200);
    return (await res.json()) as TokenPair;
  }

  before(async () => {
    clock = fakeClock();
    server = await startTestServer({ PUBLIC_URL: 'https://auth.example.test' }, { clock });
    options = { jwksUrl: `${server.url}/.well-known/jwks.json`, issuer: 'https://auth.example.test/', clock };
    verifier = createVerifier(options);
    user = (await signUpClient(server, uniqueName('verify'))).user;
  });
  after(async () => server.close());

  it('verifies a Gatehouse access token and returns its claims', async () => {
    const pair = await tokens();
    const claims = await verifier.verify(pair.access_token);
    assert.equal(claims.sub, String(user.id));
    assert.equal(claims.iss, 'https://auth.example.test');
    assert.equal(typeof claims.sid, 'string');
    assert.equal(typeof claims.jti, 'string');
    assert.equal(claims.exp - claims.iat, 900);
  });

  it('refuses an expired token (with the injected clock), a tampered one and alg none', async () => {
    const pair = await tokens();
    const [h, p, s] = pair.access_token.split('.') as [string, string, string];
    await assertInvalid(verifier, `${h}.${p}.${s.slice(0, 10)}${s[10] === 'A' ? 'B' : 'A'}${s.slice(11)}`, 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED');
    const none = Buffer.from(JSON.stringify({ alg: 'none', typ: 'at+jwt', kid: decodeProtectedHeader(pair.access_token).kid })).toString('base64url');
    await assertInvalid(verifier, `${none}.${p}.`);
    await assertInvalid(verifier, '');
    await assertInvalid(verifier, 'garbage');

    const { exp } = decodeJwt(pair.access_token) as { exp: number };
    const later = fakeClock((exp + 6) * 1000);
    await assertInvalid(createVerifier({ ...options, clock: later }), pair.access_token, 'ERR_JWT_EXPIRED');
  });

  it('refuses another issuer, a missing audience and a foreign key with the real kid', async () => {
    const pair = await tokens();
    await assertInvalid(createVerifier({ ...options, issuer: 'https://other.example.test' }), pair.access_token, 'ERR_JWT_CLAIM_VALIDATION_FAILED');
    await assertInvalid(createVerifier({ ...options, audience: 'orders-api' }), pair.access_token, 'ERR_JWT_CLAIM_VALIDATION_FAILED');
    await assertInvalid(createVerifier({ ...options, algorithms: ['ES256'] }), pair.access_token, 'ERR_JOSE_ALG_NOT_ALLOWED');
    const foreign = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
    const forged = await new SignJWT(decodeJwt(pair.access_token))
      .setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt', kid: decodeProtectedHeader(pair.access_token).kid! })
      .sign(foreign.privateKey);
    await assertInvalid(verifier, forged, 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED');
  });

  it('picks up a rotated key by refetching the JWKS on an unknown kid', async () => {
    const quick = createVerifier({ ...options, cooldownMs: 0 });
    const before = await tokens();
    await quick.verify(before.access_token);
    await rotateSigningKey(server.services.db, new KeyVault(server.config.keyEncryptionSecret), { alg: 'EdDSA', now: clock(), verifyOldKeysForSeconds: 960 });
    await server.services.tokens.keys.reload();
    const after = await tokens();
    assert.notEqual(decodeProtectedHeader(after.access_token).kid, decodeProtectedHeader(before.access_token).kid);
    assert.equal((await quick.verify(after.access_token)).sub, String(user.id));
    assert.equal((await quick.verify(before.access_token)).sub, String(user.id), 'the old key still verifies');
  });

  it('reports an unreachable key set as KeySetUnavailableError, not as a bad token', async () => {
    const pair = await tokens();
    // A port that was free a moment ago: nothing listens there.
    const port = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const { port: free } = probe.address() as AddressInfo;
        probe.close(() => resolve(free));
      });
    });
    const down = createVerifier({ ...options, jwksUrl: `http://127.0.0.1:${port}/.well-known/jwks.json`, timeoutMs: 2000 });
    const error = await rejection(down.verify(pair.access_token));
    assert.ok(error instanceof KeySetUnavailableError, String(error));
    const notFound = createVerifier({ ...options, jwksUrl: `${server.url}/no-such-jwks.json` });
    assert.ok((await rejection(notFound.verify(pair.access_token))) instanceof KeySetUnavailableError);
  });

  it('bearerToken reads the Authorization header', () => {
    assert.equal(bearerToken('Bearer abc.def.ghi'), 'abc.def.ghi');
    assert.equal(bearerToken('bearer abc'), 'abc');
    assert.equal(bearerToken('Basic dXNlcg=='), null);
    assert.equal(bearerToken(undefined), null);
    assert.equal(bearerToken('Bearer '), null);
  });

  it('refuses algorithm lists beyond what Gatehouse signs with', () => {
    assert.throws(() => createVerifier({ ...options, algorithms: ['HS256' as 'EdDSA'] }), TypeError);
    assert.throws(() => createVerifier({ ...options, algorithms: [] }), TypeError);
  });
});

describe('the gatehouse-auth/verify package export', () => {
  it('maps to the built verifier, which exports the same API', async () => {
    const resolved = import.meta.resolve('gatehouse-auth/verify');
    assert.ok(resolved.endsWith('/dist/src/verify/index.js'), resolved);
    assert.ok(existsSync(fileURLToPath(resolved)), 'build first (npm test does): dist/src/verify/index.js is missing');
    const built = (await import(resolved)) as Record<string, unknown>;
    for (const name of ['createVerifier', 'bearerToken', 'InvalidAccessTokenError', 'KeySetUnavailableError']) {
      assert.equal(typeof built[name], 'function', name);
    }
  });

  it('depends on jose alone, so other services load none of the server', () => {
    const source = readFileSync(new URL('../../src/verify/index.ts', import.meta.url), 'utf8');
    const specifiers = [...source.matchAll(/^\s*(?:import|export)\b[^'"]*?from\s+['"]([^'"]+)['"]/gm)].map((m) => m[1]);
    assert.ok(specifiers.length > 0);
    assert.deepEqual([...new Set(specifiers)], ['jose']);
    assert.doesNotMatch(source, /\bimport\s*\(/, 'no dynamic imports either');
  });
});
