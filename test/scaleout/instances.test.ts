// @requires postgres, redis
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { KeyVault, rotateSigningKey } from '../../src/tokens/keys.js';
import { fakeClock, GOOD_PASSWORD, uniqueName } from '../helpers/app.js';
import type { FakeClock } from '../helpers/app.js';
import { deployment, heard, sameBrowser } from './instances.js';
import type { Deployment, Instance } from './instances.js';

interface TokenPair {
  access_token: string;
  refresh_token: string;
}

function bearer(token: string) {
  return { headers: { authorization: `Bearer ${token}` } };
}

async function signUpAndLogin(a: Instance, b: Instance) {
  const username = uniqueName('multi');
  const browser = a.client();
  const signup = await browser.post<{ id: number }>('/signup', { username, password: GOOD_PASSWORD });
  assert.equal(signup.status, 201);
  const token = await a.client().post<TokenPair>('/api/token', { username, password: GOOD_PASSWORD });
  assert.equal(token.status, 200);
  return { username, userId: signup.body.id, browser, onB: sameBrowser(browser, b), tokens: token.body };
}

describe('two instances on one PostgreSQL and one Redis', () => {
  let deploy: Deployment;
  let a: Instance;
  let b: Instance;
  // Time stands still on both instances: their 1 s caches never expire on their own, so whatever
  // another instance revokes can only reach them through the Redis broadcast. Each test waits for
  // the broadcast to arrive (in a loaded test process it may trail the test's next request by a
  // few milliseconds, as it may in production) and then checks that the instance acted on it.
  let clock: FakeClock;

  before(async () => {
    deploy = await deployment();
    clock = fakeClock();
    // Both start at once on the empty database, as instances behind a load balancer do.
    [a, b] = await Promise.all([deploy.start({}, { clock }), deploy.start({}, { clock })]);
    assert.notEqual(a.services, b.services);
  });
  after(async () => deploy.close());

  it('both migrated the fresh database and agree on one key set', async () => {
    const [jwksA, jwksB] = await Promise.all([a.client().get<{ keys: Array<{ kid: string }> }>('/.well-known/jwks.json'), b.client().get<{ keys: Array<{ kid: string }> }>('/.well-known/jwks.json')]);
    assert.equal(jwksA.status, 200);
    assert.ok(jwksA.body.keys.length >= 1);
    assert.deepEqual(jwksB.body.keys.map((k) => k.kid).sort(), jwksA.body.keys.map((k) => k.kid).sort());
    assert.equal((await b.client().get('/readyz')).status, 200);
  });

  it('a session and a token made on A work on B', async () => {
    const { username, onB, tokens } = await signUpAndLogin(a, b);
    const me = await onB.get<{ username: string }>('/api/me');
    assert.equal(me.status, 200);
    assert.equal(me.body.username, username);
    const viaToken = await b.client().get<{ username: string }>('/api/me', bearer(tokens.access_token));
    assert.equal(viaToken.status, 200);
    assert.equal(viaToken.body.username, username);
    const refreshed = await b.client().post<TokenPair>('/api/token/refresh', { refresh_token: tokens.refresh_token });
    assert.equal(refreshed.status, 200, 'a refresh token from A refreshes on B');
  });

  it('logging out on B ends the session on A at once, though A had it cached', async () => {
    const { browser, onB } = await signUpAndLogin(a, b);
    assert.equal((await browser.get('/api/me')).status, 200, 'A has checked (and cached) the session');
    const told = heard(a, (event) => event.kind === 'session');
    const logout = await onB.send('DELETE', '/logout');
    assert.equal(logout.status, 204);
    await told;
    const replay = await browser.get<{ error: { code: string } }>('/api/me');
    assert.equal(replay.status, 401);
    assert.equal(replay.body.error.code, 'unauthenticated');
    assert.equal((await browser.get('/check_session')).status, 204);
  });

  it('disabling a user through A makes B refuse their token and cookie at once', async () => {
    const { userId, onB, tokens } = await signUpAndLogin(a, b);
    assert.equal((await b.client().get('/api/me', bearer(tokens.access_token))).status, 200, 'B has checked (and cached) the token');
    assert.equal((await onB.get('/api/me')).status, 200, 'B has checked (and cached) the session');

    const told = heard(b, (event) => event.kind === 'user' && event.userId === userId);
    await a.services.accounts.updateAccount(userId, { disabled: true }, { id: null });
    await told;

    const token = await b.client().get<{ error: { code: string } }>('/api/me', bearer(tokens.access_token));
    assert.equal(token.status, 401);
    assert.equal(token.body.error.code, 'invalid_token');
    assert.equal((await onB.get('/api/me')).status, 401);
  });

  it('`gatehouse user disable` reaches running instances at once through Redis', async () => {
    const { username, userId, onB, tokens } = await signUpAndLogin(a, b);
    assert.equal((await b.client().get('/api/me', bearer(tokens.access_token))).status, 200);
    assert.equal((await onB.get('/api/me')).status, 200);
    const told = heard(b, (event) => event.kind === 'user' && event.userId === userId, 60_000);
    // Not spawnSync: the instances in this process must keep serving while the command runs.
    const cli = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'user', 'disable', '--username', username], {
      env: { ...process.env, ...deploy.env, LOG_LEVEL: 'silent' },
    });
    let output = '';
    cli.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    cli.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const status = await new Promise<number | null>((resolve) => cli.once('exit', resolve));
    assert.equal(status, 0, output);
    assert.match(output, /disabled/);
    await told;
    assert.equal((await b.client().get('/api/me', bearer(tokens.access_token))).status, 401);
    assert.equal((await onB.get('/api/me')).status, 401);
    assert.equal((await a.client().get('/api/me', bearer(tokens.access_token))).status, 401);
  });

  it('revoking a refresh token on A makes B refuse the access tokens of that login at once', async () => {
    const { tokens } = await signUpAndLogin(a, b);
    assert.equal((await b.client().get('/api/me', bearer(tokens.access_token))).status, 200);
    const told = heard(b, (event) => event.kind === 'family');
    assert.equal((await a.client().post('/api/token/revoke', { token: tokens.refresh_token })).status, 200);
    await told;
    assert.equal((await b.client().get('/api/me', bearer(tokens.access_token))).status, 401);
  });

  it('a key rotated on A signs tokens that B verifies, and B publishes the new key', async () => {
    const kid = await rotateSigningKey(a.services.db, new KeyVault(a.config.keyEncryptionSecret), { alg: a.config.jwtAlgorithm, now: clock(), verifyOldKeysForSeconds: 960 });
    await a.services.tokens.keys.reload();
    const { tokens } = await signUpAndLogin(a, b);
    const header = JSON.parse(Buffer.from(tokens.access_token.split('.')[0] ?? '', 'base64url').toString()) as { kid: string };
    assert.equal(header.kid, kid, 'A signs with the new key');
    assert.equal((await b.client().get('/api/me', bearer(tokens.access_token))).status, 200);
    const jwks = await b.client().get<{ keys: Array<{ kid: string }> }>('/.well-known/jwks.json');
    assert.ok(jwks.body.keys.some((k) => k.kid === kid));
  });
});

describe('rate limits add up across instances (Redis)', () => {
  let deploy: Deployment;
  let a: Instance;
  let b: Instance;

  before(async () => {
    deploy = await deployment({ LOGIN_FAILURES_PER_ACCOUNT: '4', RATE_LIMIT_PER_IP: '6' });
    [a, b] = await Promise.all([deploy.start(), deploy.start()]);
  });
  after(async () => deploy.close());

  it('counts failed logins per account on A and B together', async () => {
    const username = uniqueName('guess');
    assert.equal((await a.client().post('/signup', { username, password: GOOD_PASSWORD })).status, 201);
    for (const instance of [a, b, a, b]) {
      const res = await instance.client().post('/login', { username, password: 'wrong password here' });
      assert.equal(res.status, 401);
    }
    for (const instance of [a, b]) {
      const res = await instance.client().post<{ error: { code: string } }>('/login', { username, password: GOOD_PASSWORD });
      assert.equal(res.status, 429, 'four failures spread over two instances block the account on both');
      assert.equal(res.body.error.code, 'rate_limited');
      assert.ok(Number(res.headers.get('retry-after')) > 0);
    }
  });

  it('counts requests per client address on A and B together', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 7; i += 1) {
      const instance = i % 2 === 0 ? a : b;
      statuses.push((await instance.client().post('/api/token/refresh', { refresh_token: `not-a-token-${i}` })).status);
    }
    assert.deepEqual(statuses, [401, 401, 401, 401, 401, 401, 429]);
    const res = await b.client().post('/api/token/refresh', { refresh_token: 'x' });
    assert.equal(res.status, 429);
    assert.ok(Number(res.headers.get('retry-after')) > 0);
  });
});
