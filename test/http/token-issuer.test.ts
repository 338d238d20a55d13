/**
 * Two deployments whose PUBLIC_URLs differ refuse each other's tokens: the client gets the usual
 * 401 invalid_token, and the refusing server's log line says why, naming both issuers, so the
 * operator sees the misconfiguration instead of a silent 401.
 * Checked against 84eba3f: the 401 was logged as "request refused" with no reason.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createServices } from '../../src/composition.js';
import { loadConfig } from '../../src/config.js';
import { buildApp } from '../../src/server/app.js';
import type { GatehouseApp } from '../../src/server/app.js';
import { createLoggers } from '../../src/server/logging.js';
import { signUpClient, startTestServer } from '../helpers/app.js';
import type { TestServer } from '../helpers/app.js';

describe('a token from an instance with another PUBLIC_URL', () => {
  let issuer: TestServer;
  let other: GatehouseApp;
  let otherUrl: string;
  const lines: Array<Record<string, unknown>> = [];

  before(async () => {
    issuer = await startTestServer({ PUBLIC_URL: 'http://issuer-a.test' });
    // The same database (so the same signing keys), but another PUBLIC_URL: another issuer.
    const config = loadConfig({ NODE_ENV: 'test', BCRYPT_COST: '4', DATABASE_URL: issuer.config.databaseUrl, LOG_LEVEL: 'info', PUBLIC_URL: 'http://issuer-b.test' });
    const loggers = createLoggers(config, { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) });
    other = await buildApp(config, createServices(config, { storage: issuer.storage, log: loggers.log }), { loggers });
    await other.listen({ port: 0, host: '127.0.0.1' });
    const address = other.server.address();
    otherUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  });
  after(async () => {
    await other.close();
    await issuer.close();
  });

  it('is refused with 401 invalid_token, and the log line names both issuers', async () => {
    const { user } = await signUpClient(issuer);
    const login = await issuer.client().post<{ access_token: string }>('/api/token', { username: user.username, password: 'correct horse battery staple' });
    assert.equal(login.status, 200);
    const refused = await fetch(`${otherUrl}/api/me`, { headers: { authorization: `Bearer ${login.body.access_token}` } });
    assert.equal(refused.status, 401);
    assert.equal(((await refused.json()) as { error: { code: string } }).error.code, 'invalid_token');
    const line = lines.find((l) => l.msg === 'request refused' && l.code === 'invalid_token');
    assert.ok(line, `no refusal logged: ${JSON.stringify(lines.slice(-5))}`);
    assert.equal(line.reason, "wrong_issuer: issued by http://issuer-a.test; this server's PUBLIC_URL is http://issuer-b.test");
    assert.ok(!JSON.stringify(line).includes(login.body.access_token), 'the token itself is never logged');
  });
});
