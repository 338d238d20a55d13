// Finding 20 (security review): the METRICS_PORT listener (no token) bound to HOST, so
// HOST=0.0.0.0 put it on every interface. On the old code (runtime.ts passing config.host) the
// first test failed with the listener on 0.0.0.0: checked by running it against that code.
// In-process (startServer, as `serve` calls it), reading the kernel's socket table for the address.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { afterEach, describe, it } from 'node:test';
import { loadConfig } from '../../src/config.js';
import { startServer } from '../../src/server/start.js';
import type { GatehouseApp } from '../../src/server/app.js';
import { TEST_OUTPUT } from '../helpers/app.js';
import { createTestDatabase } from '../helpers/database.js';
import type { TestDatabase } from '../helpers/database.js';
import { freePort } from '../helpers/ports.js';

const LISTEN = '0A';


/** The IPv4 addresses listening on a TCP port, from /proc/net/tcp (little-endian hex). */
function listeningAddresses(port: number): string[] {
  const found: string[] = [];
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const [, local, , state] = line.trim().split(/\s+/);
    const [hexAddress, hexPort] = (local ?? '').split(':');
    if (state !== LISTEN || hexAddress === undefined || Number.parseInt(hexPort ?? '', 16) !== port) continue;
    found.push((hexAddress.match(/../g) ?? []).reverse().map((byte) => Number.parseInt(byte, 16)).join('.'));
  }
  return found;
}

describe('the METRICS_PORT listener binds to METRICS_HOST, not HOST', { skip: !existsSync('/proc/net/tcp') && 'needs /proc/net/tcp (Linux)' }, () => {
  let database: TestDatabase | undefined;
  let app: GatehouseApp | undefined;
  afterEach(async () => {
    await app?.close();
    await database?.drop();
  });

  async function start(env: Record<string, string>): Promise<{ metricsPort: number; mainPort: number }> {
    database = await createTestDatabase(process.env.TEST_DATABASE_URL, TEST_OUTPUT);
    const metricsPort = await freePort();
    const config = loadConfig({ NODE_ENV: 'test', BCRYPT_COST: '4', LOG_LEVEL: 'silent', PORT: '0', DATABASE_URL: database.url, METRICS_PORT: String(metricsPort), ...env });
    ({ app } = await startServer(config));
    const address = app.server.address();
    return { metricsPort, mainPort: typeof address === 'object' && address ? address.port : 0 };
  }

  it('HOST=0.0.0.0 leaves the metrics on loopback by default', async () => {
    const { metricsPort, mainPort } = await start({ HOST: '0.0.0.0' });
    assert.deepEqual(listeningAddresses(mainPort), ['0.0.0.0'], 'the main port follows HOST');
    assert.deepEqual(listeningAddresses(metricsPort), ['127.0.0.1']);
    assert.equal((await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).status, 200);
  });

  it('METRICS_HOST moves them, when an operator asks', async () => {
    const { metricsPort } = await start({ HOST: '127.0.0.1', METRICS_HOST: '0.0.0.0' });
    assert.deepEqual(listeningAddresses(metricsPort), ['0.0.0.0']);
    assert.equal((await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).status, 200);
  });
});
