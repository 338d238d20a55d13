/**
 * The WebAuthn relying party: PUBLIC_URL's host name by default, WEBAUTHN_RP_ID only as that host
 * or a parent domain of it (anything else could never work in a browser: refused at start), and
 * the start-up warning when it is an IP address (browsers refuse one).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { passkeyWarning, startWarnings } from '../../src/cli/serve.js';
import { ConfigError, loadConfig } from '../../src/config.js';

describe('the WebAuthn relying party id', () => {
  it("is PUBLIC_URL's host name by default, whatever the listen address", () => {
    assert.equal(loadConfig({}).webauthnRpId, '127.0.0.1');
    assert.equal(loadConfig({ PUBLIC_URL: 'https://auth.example.com:8443/' }).webauthnRpId, 'auth.example.com');
    assert.equal(loadConfig({ HOST: '0.0.0.0', PUBLIC_URL: 'http://localhost:3000' }).webauthnRpId, 'localhost');
  });

  it('WEBAUTHN_RP_ID may be that host or a parent domain of it (compared in lower case)', () => {
    assert.equal(loadConfig({ PUBLIC_URL: 'https://auth.example.com', WEBAUTHN_RP_ID: 'example.com' }).webauthnRpId, 'example.com');
    assert.equal(loadConfig({ PUBLIC_URL: 'https://auth.example.com', WEBAUTHN_RP_ID: 'Auth.Example.COM' }).webauthnRpId, 'auth.example.com');
  });

  for (const bad of ['evil.example', 'ample.com', 'auth.example.com.evil', 'https://auth.example.com', 'example.com/x', 'exa mple.com']) {
    it(`refuses WEBAUTHN_RP_ID=${bad}, naming the variable`, () => {
      assert.throws(
        () => loadConfig({ PUBLIC_URL: 'https://auth.example.com', WEBAUTHN_RP_ID: bad }),
        (error: unknown) => error instanceof ConfigError && /^WEBAUTHN_RP_ID: /.test(error.message),
      );
    });
  }

  it('warns at start when it is an IP address (the default PUBLIC_URL), and not for a host name', () => {
    assert.match(passkeyWarning(loadConfig({})) ?? '', /Passkeys will not work: .*127\.0\.0\.1, an IP address.*PUBLIC_URL=http:\/\/localhost/);
    assert.match(passkeyWarning(loadConfig({ HOST: '::1' })) ?? '', /\[::1\], an IP address/);
    assert.equal(passkeyWarning(loadConfig({ PUBLIC_URL: 'http://localhost:3000' })), null);
    assert.equal(passkeyWarning(loadConfig({ PUBLIC_URL: 'https://auth.example.com' })), null);
    assert.deepEqual(startWarnings(loadConfig({})), [], 'a warning of its own, beside the others');
  });
});
