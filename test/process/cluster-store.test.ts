/**
 * The cluster limit store's reply timeout (src/limits/cluster-store.ts): a worker asks the primary
 * for each counter operation; when the primary does not answer within the timeout (1 s), the
 * worker counts in its own memory for that call instead of waiting for ever, and goes back to the
 * primary's counters as soon as the primary answers again.
 *
 * A real primary (hostClusterLimits) and worker (ClusterLimitStore), in a child process. The
 * primary is made unresponsive deterministically: on the worker's word it blocks its thread
 * (Atomics.wait, as a long synchronous task would) until the worker creates a gate file, so
 * every request the worker sends meanwhile goes unanswered however slow the machine is.
 *
 * Checked: with the fallback store created anew for each call (its counters lost between calls)
 * the unanswered calls count [1, 1, null] instead of [1, 2, 2]; with a timeout that never fires
 * the worker waits out the primary's whole stall (20 s) and gets [3, 4, 4] from it.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, it } from 'node:test';
import { TEST_OUTPUT } from '../helpers/app.js';

const moduleUrl = (path: string) => JSON.stringify(pathToFileURL(join(process.cwd(), path)).href);

function script(gate: string): string {
  return `
import cluster from 'node:cluster';
import { existsSync, writeFileSync } from 'node:fs';
import { ClusterLimitStore, hostClusterLimits } from ${moduleUrl('src/limits/cluster-store.ts')};

const GATE = ${JSON.stringify(gate)};
if (cluster.isPrimary) {
  hostClusterLimits();
  const worker = cluster.fork();
  worker.on('message', (message) => {
    if (message.type === 'stall') {
      // Once the acknowledgement is on its way, answer nothing until the gate opens (bounded: 20 s).
      worker.send({ type: 'stalled' }, () => {
        const sleep = new Int32Array(new SharedArrayBuffer(4));
        for (let i = 0; i < 4000 && !existsSync(GATE); i += 1) Atomics.wait(sleep, 0, 0, 5);
      });
    }
    if (message.type === 'report') {
      process.stdout.write(JSON.stringify(message.report));
      worker.kill();
      process.exit(0);
    }
  });
  setTimeout(() => { process.stderr.write('timed out'); process.exit(2); }, 30_000).unref();
} else {
  const store = new ClusterLimitStore();
  const WINDOW = 600_000;
  const report = {};
  report.answered = [(await store.increment('k', WINDOW)).count, (await store.increment('k', WINDOW)).count];
  await new Promise((resolve) => {
    process.on('message', (message) => { if (message.type === 'stalled') resolve(); });
    process.send({ type: 'stall' });
  });
  const start = performance.now();
  const first = (await store.increment('k', WINDOW)).count;
  report.waitedMs = performance.now() - start;
  report.unanswered = [first, (await store.increment('k', WINDOW)).count, (await store.get('k'))?.count ?? null];
  writeFileSync(GATE, '');
  report.answeredAgain = [(await store.increment('k', WINDOW)).count, (await store.get('k'))?.count ?? null];
  process.send({ type: 'report', report });
}
`;
}

describe('the cluster limit store when the primary does not answer', () => {
  it('counts in the worker\'s own memory for each unanswered call, after the timeout, and returns to the primary\'s counters', () => {
    const dir = join(TEST_OUTPUT, 'process');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `cluster-store-${process.pid}.ts`);
    const gate = join(dir, `cluster-store-gate-${process.pid}`);
    rmSync(gate, { force: true });
    writeFileSync(file, script(gate));
    try {
      const child = spawnSync(process.execPath, ['--import', 'tsx', file], { encoding: 'utf8', timeout: 60_000 });
      assert.equal(child.status, 0, `${child.signal ?? ''} ${child.stderr}`);
      const report = JSON.parse(child.stdout) as { answered: number[]; waitedMs: number; unanswered: Array<number | null>; answeredAgain: Array<number | null> };
      assert.deepEqual(report.answered, [1, 2], 'the primary counts while it answers');
      assert.deepEqual(report.unanswered, [1, 2, 2], 'unanswered: the worker\'s own counters, kept from one call to the next');
      // A lower bound only: the worker gave the primary its full second before counting alone.
      assert.ok(report.waitedMs >= 900, `fell back after ${report.waitedMs.toFixed(0)} ms`);
      // The primary applies the two increments it could not answer in time once it gets to them
      // (an attempt is never lost), then this one: 2 + 2 + 1.
      assert.deepEqual(report.answeredAgain, [5, 5], 'answered again: the primary\'s counters');
    } finally {
      rmSync(file, { force: true });
      rmSync(gate, { force: true });
    }
  });
});
