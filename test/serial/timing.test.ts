/**
 * Timing: unknown user, wrong password and disabled user cannot be told apart by response time,
 * on /login and on /api/token.
 *
 * Design (docs/security.md, "Timing test", explains it at more length):
 *
 * - Realistic cost: BCRYPT_COST=9 (about 22 ms a hash here), so a skipped or cheaper hash is a
 *   large, visible difference, as it would be in production at cost 12.
 * - Blocks: each block sends one request of every kind (3 kinds × 2 routes, plus a control) in a
 *   freshly shuffled order, one at a time. Differences are taken inside a block, so a machine that
 *   gets slower or faster over the run (other processes, CPU frequency) cancels out. 20 warm-up
 *   blocks are discarded (JIT, caches, connection set-up).
 * - Statistic: for each pair of kinds A, B on a route, the paired differences d_i = t_A,i − t_B,i
 *   over N = 400 blocks. Equivalence margin δ = 20 % of the median wrong-password latency (about
 *   the hash time): any defect that skips the hash, or hashes at a lower cost, shifts the
 *   difference by 50–100 %.
 * - Test: two one-sided sign tests (TOST without a normality assumption, robust to the heavy tail
 *   of latencies on a shared machine). The pair passes when fewer than K = 169 of the 400
 *   differences are ≥ δ and fewer than K are ≤ −δ; equivalently, the distribution-free confidence
 *   interval [d_(K), d_(N−K+1)] for the median difference lies inside (−δ, δ). Its level: if the
 *   median difference were δ or more, the pair would still pass with probability at most
 *   P(Bin(400, ½) ≤ 168) = 8.0e-4.
 * - False failure of a correct implementation: with blocks independent, the count of d_i ≥ δ is
 *   Binomial(N, p) where p = P(d ≥ δ) for one block (and likewise below −δ). A chance failure of
 *   one side is P(Bin(400, p) ≥ 169); over the 12 one-sided checks (6 pairs × 2 sides) the union
 *   bound gives 12 · P(Bin(400, p) ≥ 169). Measured on the 2-core development machine with other
 *   test suites running (load average 7–10): 54–74 of 400 blocks per side, p ≈ 0.14–0.19 (each
 *   run prints its counts). At p = 0.25 the bound is 4.5e-13, at
 *   p = 0.30 it is 1.7e-6. The test fails by chance less than once in 10,000 runs as long as a
 *   single paired difference exceeds 20 % of the hash time in at most 31 % of blocks (the bound
 *   reaches 1e-4 at p ≈ 0.318).
 * - Power, checked in every run: a control pair (a login refused by validation, which never
 *   hashes, against a wrong password) must be found NOT equivalent. The real timing leak this test
 *   exists for looks exactly like that control.
 */
import assert from 'node:assert/strict';
import { randomInt, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { GOOD_PASSWORD, signUpClient, startTestServer, uniqueName } from '../helpers/app.js';
import type { TestServer } from '../helpers/app.js';

const BLOCKS = 400;
const WARM_UP = 20;
/** Reject when this many of the BLOCKS differences fall beyond the margin on one side (see above). */
const K = 169;
const MARGIN = 0.2;

type Kind = 'unknown' | 'wrong' | 'disabled';
const KINDS: readonly Kind[] = ['unknown', 'wrong', 'disabled'];
const ROUTES = ['/login', '/api/token'] as const;

interface Verdict {
  equivalent: boolean;
  above: number;
  below: number;
  medianDifference: number;
}

/** The paired sign-test TOST described above. */
function equivalence(differences: readonly number[], delta: number): Verdict {
  const above = differences.filter((d) => d >= delta).length;
  const below = differences.filter((d) => d <= -delta).length;
  return { equivalent: above < K && below < K, above, below, medianDifference: median(differences) };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

describe('timing: failed logins look the same whatever the reason', () => {
  let server: TestServer;
  let known: string;
  let disabled: string;
  /** Latencies in ms, by "route kind", block by block. */
  const samples = new Map<string, number[]>();

  before(async () => {
    server = await startTestServer({ BCRYPT_COST: '9', RATE_LIMITS: 'off' });
    known = (await signUpClient(server, uniqueName('known'))).user.username;
    const off = await signUpClient(server, uniqueName('disabled'));
    disabled = off.user.username;
    await server.services.accounts.updateAccount(off.user.id, { disabled: true }, { id: null });
  });
  after(async () => server.close());

  /** One request, timed from send to the last byte of the answer, which must be the expected refusal. */
  async function timed(route: string, body: unknown, expected: number): Promise<number> {
    const start = process.hrtime.bigint();
    const response = await fetch(server.url + route, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const text = await response.text();
    const elapsed = Number(process.hrtime.bigint() - start) / 1e6;
    assert.equal(response.status, expected, text);
    return elapsed;
  }

  function bodyFor(kind: Kind): { username: string; password: string } {
    // Fresh names and passwords each time, as an attacker probing accounts would send.
    switch (kind) {
      case 'unknown':
        return { username: `ghost_${randomUUID().slice(0, 12)}`, password: `guess ${randomUUID()}` };
      case 'wrong':
        return { username: known, password: `guess ${randomUUID()}` };
      case 'disabled':
        // The right password: the account exists, the hash matches, and still nothing may show.
        return { username: disabled, password: GOOD_PASSWORD };
    }
  }

  it(`collects ${BLOCKS} randomized blocks of refused logins`, { timeout: 15 * 60_000 }, async () => {
    for (let block = 0; block < WARM_UP + BLOCKS; block += 1) {
      const tasks: Array<{ key: string; run: () => Promise<number> }> = [];
      for (const route of ROUTES) {
        for (const kind of KINDS) tasks.push({ key: `${route} ${kind}`, run: () => timed(route, bodyFor(kind), 401) });
      }
      // The control: refused by validation before any hash.
      tasks.push({ key: 'control', run: () => timed('/login', { username: known }, 422) });
      for (let i = tasks.length - 1; i > 0; i -= 1) {
        const j = randomInt(i + 1);
        [tasks[i], tasks[j]] = [tasks[j] as (typeof tasks)[number], tasks[i] as (typeof tasks)[number]];
      }
      for (const task of tasks) {
        const ms = await task.run();
        if (block >= WARM_UP) samples.set(task.key, [...(samples.get(task.key) ?? []), ms]);
      }
    }
    assert.equal(samples.get('control')?.length, BLOCKS);
  });

  function differences(a: string, b: string): number[] {
    const left = samples.get(a) ?? [];
    const right = samples.get(b) ?? [];
    assert.equal(left.length, BLOCKS, `samples for ${a}`);
    return left.map((value, i) => value - (right[i] ?? Number.NaN));
  }

  function describeVerdict(a: string, b: string, v: Verdict, delta: number): string {
    return `${a} vs ${b}: median difference ${v.medianDifference.toFixed(2)} ms, margin ±${delta.toFixed(2)} ms; ${v.above} of ${BLOCKS} blocks ≥ +margin, ${v.below} ≤ −margin (reject at ${K})`;
  }

  for (const route of ROUTES) {
    for (const [a, b] of [
      ['unknown', 'wrong'],
      ['disabled', 'wrong'],
      ['unknown', 'disabled'],
    ] as const) {
      it(`${route}: ${a} user and ${b === 'wrong' ? 'wrong password' : `${b} user`} take the same time`, (t) => {
        const delta = MARGIN * median(samples.get(`${route} wrong`) ?? []);
        const verdict = equivalence(differences(`${route} ${a}`, `${route} ${b}`), delta);
        const report = describeVerdict(`${route} ${a}`, `${route} ${b}`, verdict, delta);
        t.diagnostic(report);
        assert.ok(verdict.equivalent, report);
      });
    }
  }

  it('the control shows the test can see a skipped hash', (t) => {
    const delta = MARGIN * median(samples.get('/login wrong') ?? []);
    const verdict = equivalence(differences('control', '/login wrong'), delta);
    const report = describeVerdict('control', '/login wrong', verdict, delta);
    t.diagnostic(report);
    assert.ok(!verdict.equivalent, report);
  });
});
