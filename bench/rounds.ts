import { describe, mergeLoads, runLoadWithSamples } from './load.js';
import type { LoadResult, LoadSpec, Samples } from './load.js';
import { say } from './workloads.js';

/**
 * Interleaved rounds. The bench machine's speed drifts (up to 2× over minutes on a shared VM), so a
 * ratio of two figures measured minutes apart says more about the drift than about the server.
 * Figures that are compared with each other are therefore measured side by side: each round runs
 * every spec once, a few seconds each, in an order that rotates from round to round, and a ratio is
 * the median of the per-round ratios.
 */

/** No round shorter than this: a run of a second or two is mostly its start (connections opening) and noise. */
export const MIN_ROUND_SECONDS = 3;

/** Seconds per spec and round: the workload's duration shared out over the rounds, but at least MIN_ROUND_SECONDS. */
export function roundSeconds(duration: number, rounds: number): number {
  return Math.max(MIN_ROUND_SECONDS, duration / rounds);
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

/**
 * Run `specs` (each already with its per-round duration) `rounds` times, the order rotating by one each round.
 * Warm-ups are the caller's. Returns one merged result per spec, its rounds in `rounds`.
 */
export async function interleave(specs: LoadSpec[], rounds: number): Promise<LoadResult[]> {
  const runs: Array<Array<{ result: LoadResult; samples: Samples }>> = specs.map(() => []);
  for (let round = 1; round <= rounds; round += 1) {
    say(`  round ${round}/${rounds}`);
    // Each round starts one spec later than the one before, so no spec always runs first or last
    // (the load generator and the machine are not in the same state at both ends of a round).
    for (let k = 0; k < specs.length; k += 1) {
      const i = (k + round - 1) % specs.length;
      const spec = specs[i];
      if (!spec) continue;
      const run = await runLoadWithSamples({ ...spec, title: `${spec.title}, round ${round}/${rounds}` });
      say(`    ${spec.title}: ${describe(run.result)}`);
      runs[i]?.push(run);
    }
  }
  return specs.map((spec, i) => mergeLoads(spec.title, runs[i] ?? []));
}

/**
 * rps of `a` ÷ rps of `b`. When both were measured in the same rounds, the median of the per-round
 * ratios (each compares runs seconds apart, or simultaneous ones), and how many rounds; otherwise
 * the plain ratio of the totals. Null when either is missing or `b` has no rps.
 */
export function rpsRatio(a: LoadResult | undefined, b: LoadResult | undefined): { value: number | null; rounds?: number } {
  if (!a || !b) return { value: null };
  const ra = a.rounds ?? [];
  const rb = b.rounds ?? [];
  if (ra.length > 0 && ra.length === rb.length) {
    const ratios = ra.map((round, i) => round.rps / (rb[i]?.rps ?? 0)).filter(Number.isFinite);
    if (ratios.length === ra.length) return { value: median(ratios), rounds: ratios.length };
  }
  return { value: b.rps > 0 ? a.rps / b.rps : null };
}

/**
 * Run each group's specs at the same time, group after group, `rounds` times: figures compared
 * within a group then share the machine at every moment, so drift (even within a round) hits them
 * alike. For servers running the same code on different data (W6's sizes): each server is then
 * held to its share of the CPU, and its rps shows what a request costs it. Returns one merged
 * result per spec, in the order of `groups.flat()`.
 */
export async function concurrently(groups: LoadSpec[][], rounds: number): Promise<LoadResult[]> {
  const specs = groups.flat();
  const runs: Array<Array<{ result: LoadResult; samples: Samples }>> = specs.map(() => []);
  for (let round = 1; round <= rounds; round += 1) {
    say(`  round ${round}/${rounds}`);
    let offset = 0;
    for (const group of groups) {
      const results = await Promise.all(group.map((spec) => runLoadWithSamples({ ...spec, title: `${spec.title}, round ${round}/${rounds}` })));
      for (const [j, run] of results.entries()) {
        say(`    ${group[j]?.title ?? ''}: ${describe(run.result)}`);
        runs[offset + j]?.push(run);
      }
      offset += group.length;
    }
  }
  return specs.map((spec, i) => mergeLoads(spec.title, runs[i] ?? []));
}

