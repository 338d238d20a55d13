import { describe, mergeLoads, runLoadWithSamples } from './load.js';
import type { LoadResult, LoadSpec, Samples } from './load.js';
import { say } from './workloads.js';

/**
 * Interleaved rounds. The bench machine's speed drifts (up to 2× over minutes on a shared VM), so a
 * ratio of two figures measured minutes apart says more about the drift than about the server.
 * Figures that are compared with each other are therefore measured side by side: each round runs
 * every spec once, a few seconds each, and a ratio is the median of the per-round ratios.
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
 * Run `specs` (each already with its per-round duration) `rounds` times, in order within a round.
 * Warm-ups are the caller's. Returns one merged result per spec, its rounds in `rounds`.
 */
export async function interleave(specs: LoadSpec[], rounds: number): Promise<LoadResult[]> {
  const runs: Array<Array<{ result: LoadResult; samples: Samples }>> = specs.map(() => []);
  for (let round = 1; round <= rounds; round += 1) {
    say(`  round ${round}/${rounds}`);
    for (const [i, spec] of specs.entries()) {
      const run = await runLoadWithSamples({ ...spec, title: `${spec.title}, round ${round}/${rounds}` });
      say(`    ${spec.title}: ${describe(run.result)}`);
      runs[i]?.push(run);
    }
  }
  return specs.map((spec, i) => mergeLoads(spec.title, runs[i] ?? []));
}

/**
 * rps of `a` ÷ rps of `b`. When both were measured in the same interleaved rounds, the median of the
 * per-round ratios (each compares runs seconds apart), with a note saying so; otherwise the plain
 * ratio of the totals. Null when either is missing or `b` has no rps.
 */
export function rpsRatio(a: LoadResult | undefined, b: LoadResult | undefined): { value: number | null; note?: string } {
  if (!a || !b) return { value: null };
  const ra = a.rounds ?? [];
  const rb = b.rounds ?? [];
  if (ra.length > 0 && ra.length === rb.length) {
    const ratios = ra.map((round, i) => round.rps / (rb[i]?.rps ?? 0)).filter(Number.isFinite);
    if (ratios.length === ra.length) {
      const n = ratios.length;
      return { value: median(ratios), note: n === 1 ? 'one interleaved round' : `median of ${n} interleaved rounds` };
    }
  }
  return { value: b.rps > 0 ? a.rps / b.rps : null };
}
