/**
 * LimitStore.slidingAdd across cluster workers (WORKERS>1 without Redis): the windows live in the
 * primary, and each call is one operation there, so two workers racing for one address's mail cap
 * share it: of 20 calls, 10 from each worker at once, with a cap of 5, exactly 5 are allowed.
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
import { ClusterLimitStore, hostClusterLimits } from ${moduleUrl('src/limits/cluster-store.ts')};

const WORKERS = 2;
const HOUR = 3_600_000;
if (cluster.isPrimary) {
  hostClusterLimits(100);
  const report = {};
  const ready = new Set();
  const phases = ['race', 'after'];
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
  process.on('message', async (message) => {
    if (message.type !== 'phase') return;
    let value;
    if (message.name === 'race') {
      const outcomes = await Promise.all(Array.from({ length: 10 }, () => store.slidingAdd('mail:links:dave', HOUR, 5)));
      value = outcomes.filter((o) => o.allowed).length;
    }
    // What each worker sees afterwards: the full window, and another key untouched.
    if (message.name === 'after') value = [await store.slidingAdd('mail:links:dave', HOUR, 5), await store.slidingAdd('mail:links:erin-' + message.id, HOUR, 5)];
    process.send({ type: 'result', value });
  });
  process.send({ type: 'ready' });
}
`;

describe('slidingAdd across cluster workers (windows in the primary)', () => {
  it('two workers racing for one key share one cap', () => {
    const dir = join(TEST_OUTPUT, 'process');
    mkdirSync(dir, { recursive: true });
    const script = join(dir, `cluster-sliding-${process.pid}.ts`);
    writeFileSync(script, SCRIPT);
    try {
      const child = spawnSync(process.execPath, ['--import', 'tsx', script], { encoding: 'utf8', timeout: 60_000 });
      assert.equal(child.status, 0, `${child.signal ?? ''} ${child.stderr}`);
      const report = JSON.parse(child.stdout) as { race: number[]; after: Array<Array<{ allowed: boolean; count: number }>> };
      assert.equal(report.race.length, 2);
      assert.equal(report.race.reduce((total, n) => total + n, 0), 5, `allowed per worker: ${JSON.stringify(report.race)}`);
      for (const [dave, erin] of report.after) {
        assert.deepEqual(dave, { allowed: false, count: 5 }, "both workers see the primary's full window");
        assert.deepEqual(erin, { allowed: true, count: 1 });
      }
    } finally {
      rmSync(script, { force: true });
    }
  });
});
