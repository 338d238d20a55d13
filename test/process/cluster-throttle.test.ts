/**
 * The attempt throttle across cluster workers (WORKERS>1 without Redis): the counters live in
 * the primary, and each reservation is one increment there, so two workers reserving at once
 * share one limit; a given-back reservation is one decrement there; a full budget in the
 * primary reaches the worker as OverloadedError.
 *
 * Fails on 1ed912e: its throttle checked the block and counted failures in separate steps; the
 * same run with two workers through assertAllowed/recordFailure let all 50 guesses past the check
 * (limit 10). The reserve/decrement API used below does not exist there.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, it } from 'node:test';
import { TEST_OUTPUT } from '../helpers/app.js';

const moduleUrl = (path: string) => JSON.stringify(pathToFileURL(join(process.cwd(), path)).href);

/** The primary forks two workers, starts each phase on both at once, and prints what they report. */
const SCRIPT = `
import cluster from 'node:cluster';
import { OverloadedError, RateLimitedError } from ${moduleUrl('src/errors.ts')};
import { ClusterLimitStore, hostClusterLimits } from ${moduleUrl('src/limits/cluster-store.ts')};
import { LoginThrottle } from ${moduleUrl('src/limits/login-throttle.ts')};

const WORKERS = 2;
if (cluster.isPrimary) {
  hostClusterLimits(100);
  const report = {};
  const ready = new Set();
  const phases = ['race', 'give-back', 'check-shared', 'overload'];
  let phase = 0;
  let answers = 0;
  const start = () => {
    for (const worker of Object.values(cluster.workers)) worker.send({ type: 'phase', name: phases[phase], id: worker.id });
  };
  cluster.on('message', (worker, message) => {
    if (message.type === 'ready') {
      ready.add(worker.id);
      if (ready.size === WORKERS) start();
      return;
    }
    if (message.type !== 'result') return;
    (report[phases[phase]] ??= []).push(message.value);
    if ((answers += 1) < WORKERS) return;
    answers = 0;
    phase += 1;
    if (phase < phases.length) return start();
    process.stdout.write(JSON.stringify(report));
    for (const w of Object.values(cluster.workers)) w.kill();
    process.exit(0);
  });
  for (let i = 0; i < WORKERS; i += 1) cluster.fork();
  setTimeout(() => { process.stderr.write('timed out'); process.exit(2); }, 30_000).unref();
} else {
  const store = new ClusterLimitStore();
  const throttle = new LoginThrottle(store, 10, 900_000, true);
  const reserve = async (key, n) => {
    const outcomes = await Promise.allSettled(Array.from({ length: n }, () => throttle.reserve(key)));
    if (outcomes.some((o) => o.status === 'rejected' && !(o.reason instanceof RateLimitedError))) throw new Error('unexpected refusal');
    return outcomes.filter((o) => o.status === 'fulfilled').map((o) => o.value);
  };
  let held = [];
  process.on('message', async (message) => {
    if (message.type !== 'phase') return;
    let value;
    if (message.name === 'race') value = (await reserve('name:carol', 25)).length;
    if (message.name === 'give-back') {
      // Only the first worker takes places here: 10 of them, then gives 3 back.
      if (message.id === 1) {
        held = await reserve('name:erin', 10);
        for (const attempt of held.slice(0, 3)) await attempt.cancelled();
        value = held.length;
      } else value = 0;
    }
    if (message.name === 'check-shared') value = message.id === 2 ? (await reserve('name:erin', 5)).length : 0;
    if (message.name === 'overload') {
      if (message.id === 1) {
        for (let i = 0; i < 100; i += 1) await store.set('login:block:name:u' + i, 1, Date.now() + 900_000);
        value = await store.set('login:block:name:late', 1, Date.now() + 900_000).then(() => 'stored', (e) => (e instanceof OverloadedError ? 'overloaded' : String(e)));
      } else value = 'idle';
    }
    process.send({ type: 'result', value });
  });
  process.send({ type: 'ready' });
}
`;

describe('AttemptThrottle across cluster workers (counters in the primary)', () => {
  it('two workers share one limit, give places back through the primary, and see its refusals', () => {
    const dir = join(TEST_OUTPUT, 'process');
    mkdirSync(dir, { recursive: true });
    const script = join(dir, `cluster-throttle-${process.pid}.ts`);
    writeFileSync(script, SCRIPT);
    try {
      const child = spawnSync(process.execPath, ['--import', 'tsx', script], { encoding: 'utf8', timeout: 60_000 });
      assert.equal(child.status, 0, `${child.signal ?? ''} ${child.stderr}`);
      const report = JSON.parse(child.stdout) as Record<string, Array<number | string>>;
      const sum = (values: Array<number | string> = []) => values.reduce<number>((total, v) => total + Number(v), 0);
      assert.equal(sum(report.race), 10, `granted per worker: ${JSON.stringify(report.race)}`);
      assert.equal(sum(report['give-back']), 10);
      assert.equal(sum(report['check-shared']), 3, 'the other worker got exactly the 3 places given back');
      assert.deepEqual([...(report.overload ?? [])].sort(), ['idle', 'overloaded']);
    } finally {
      rmSync(script, { force: true });
    }
  });
});
