import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism, cpus, release, totalmem } from 'node:os';
import { cpuShares, unexpectedStatuses } from './load.js';
import type { LoadResult } from './load.js';
import type { RssSample } from './processes.js';
import { rpsRatio } from './rounds.js';
import { CHECK_USERS, W6_SESSIONS } from './workloads.js';

/** One line of the results table. `pass` is null where the row has no target or its inputs are missing. */
export interface Row {
  workload: string;
  metric: string;
  value: number | null;
  unit: string;
  target: string;
  pass: boolean | null;
  note?: string;
  /** Set when the measurement itself went wrong (errors, unexpected statuses): its value says nothing. */
  invalid?: string;
}

export interface Machine {
  nproc: number;
  cpuModel: string;
  memoryGb: number;
  kernel: string;
  node: string;
}

export function machine(): Machine {
  let cpuModel = cpus()[0]?.model ?? 'unknown';
  try {
    const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
    const match = /^model name\s*:\s*(.+)$/m.exec(cpuinfo);
    if (match?.[1]) cpuModel = match[1].trim();
    // A VM's model name can be as vague as "AMD EPYC"; the family tells two hosts' CPUs apart.
    const family = /^cpu family\s*:\s*(\d+)$/m.exec(cpuinfo);
    if (family?.[1]) cpuModel += ` (family ${family[1]})`;
  } catch {
    // Not Linux: os.cpus() is all there is.
  }
  return { nproc: availableParallelism(), cpuModel, memoryGb: Math.round((totalmem() / 2 ** 30) * 10) / 10, kernel: release(), node: process.version };
}

export function gitState(cwd: string): { commit: string | null; dirty: boolean | null } {
  try {
    const commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const status = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    return { commit, dirty: status.trim().length > 0 };
  } catch {
    return { commit: null, dirty: null };
  }
}

function formatValue(value: number | null, unit: string): string {
  if (value === null || !Number.isFinite(value)) return 'n/a';
  switch (unit) {
    case '%':
      return `${(value * 100).toFixed(1)} %`;
    case '×':
      return `${value.toFixed(2)} ×`;
    case 'ms':
      return `${value < 10 ? value.toFixed(2) : value.toFixed(1)} ms`;
    case 'MB':
      return `${value.toFixed(1)} MB`;
    case 'count':
      return String(Math.round(value));
    default:
      return `${value < 100 ? value.toFixed(1) : Math.round(value).toLocaleString('en-US')} ${unit}`;
  }
}

function verdict(row: Row): string {
  if (row.invalid) return 'INVALID';
  if (row.pass === null) return row.target ? 'n/a' : '';
  return row.pass ? 'PASS' : 'FAIL';
}

function noteOf(row: Row): string {
  return [row.invalid, row.note].filter(Boolean).join('; ');
}

/** The table as aligned plain text for the terminal. */
export function renderTable(rows: Row[]): string {
  const cells = rows.map((row) => [row.workload, row.metric, formatValue(row.value, row.unit), row.target, verdict(row), noteOf(row)]);
  const header = ['workload', 'metric', 'value', 'target', 'result', 'note'];
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] ?? '').length)));
  const line = (c: string[]) =>
    c
      .map((cell, i) => (i === 2 ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.map(line)].join('\n');
}

/** The same table in Markdown, for docs/benchmarks.md. */
export function renderMarkdown(rows: Row[]): string {
  const out = ['| workload | metric | value | target | result | note |', '|---|---|---:|---|---|---|'];
  for (const row of rows) out.push(`| ${row.workload} | ${row.metric} | ${formatValue(row.value, row.unit)} | ${row.target} | ${verdict(row)} | ${noteOf(row)} |`);
  return out.join('\n');
}

/** a / b, or null when either is missing or b is zero. */
export function ratio(a: number | null | undefined, b: number | null | undefined): number | null {
  if (a === null || a === undefined || b === null || b === undefined || b === 0) return null;
  return a / b;
}

export function atLeast(value: number | null, min: number): boolean | null {
  return value === null ? null : value >= min;
}

export function atMost(value: number | null, max: number): boolean | null {
  return value === null ? null : value <= max;
}

export interface HashCost {
  cost: number;
  samplesMs: number[];
  medianMs: number;
  cores: number;
  /** cores / hash seconds: logins per second if every core did nothing but bcrypt. */
  limitPerSecond: number;
}

export interface Soak {
  seconds: number;
  samples: Array<{ t: number; totalMb: number; maxProcessMb: number }>;
  baselineMb: number;
  finalMb: number;
  growth: number;
  checks: LoadResult;
}

export interface Results {
  hash: HashCost;
  idleRss?: RssSample;
  finalRss?: RssSample;
  floor?: LoadResult;
  W1?: LoadResult;
  W2?: LoadResult;
  W3?: LoadResult;
  W3b?: LoadResult;
  /** Session-cookie checks at GET /api/authz/forward-auth, with the headers Traefik or Caddy add. */
  FA?: LoadResult;
  W4?: { checks: LoadResult; logins: LoadResult };
  /** W4 with two-step logins: `logins` counts whole logins (POST /login, then POST /login/mfa with a TOTP code). */
  W7?: { checks: LoadResult; logins: LoadResult };
  W5?: { wrongPassword: LoadResult; unknownUser: LoadResult };
  /** `hot`: W3 as it is, 8 sessions (answered mostly from the 1 s session cache); `spread`: 1000 sessions (mostly database reads). */
  W6?: Array<{ users: number; hot: LoadResult; spread: LoadResult }>;
  soak?: Soak;
}

/** Why a measurement cannot be trusted, or undefined when it can. */
function invalid(result: LoadResult | undefined, tolerated: string[] = []): string | undefined {
  if (!result) return undefined;
  if (result.responses === 0) return 'no responses';
  const bad = unexpectedStatuses(result, tolerated);
  const badCount = bad.reduce((sum, [, count]) => sum + count, 0);
  if (badCount / result.responses > 0.01) return `unexpected statuses: ${bad.map(([s, c]) => `${c}×${s}`).join(' ')}`;
  if (result.errors / result.responses > 0.01) return `${result.errors} connection errors`;
  return undefined;
}

/** The table: every figure of the run, with the issue's target where it has one. */
/** "median of 5 interleaved rounds" for a median of per-round ratios, or undefined for a plain ratio. */
function roundsNote(rounds: number | undefined, adjective: string, suffix = ''): string | undefined {
  if (rounds === undefined) return undefined;
  return (rounds === 1 ? `one ${adjective}round` : `median of ${rounds} ${adjective}rounds`) + suffix;
}

export function rows(results: Results, soakRequested: boolean): Row[] {
  const out: Row[] = [];
  const add = (row: Row, result?: LoadResult, tolerated?: string[]) => {
    const why = invalid(result, tolerated);
    out.push(why ? { ...row, pass: null, invalid: why } : row);
  };
  const { hash } = results;
  out.push({ workload: 'bcrypt', metric: `one hash at cost ${hash.cost}, in-process (median of ${hash.samplesMs.length})`, value: hash.medianMs, unit: 'ms', target: '', pass: null });
  out.push({ workload: 'bcrypt', metric: `physical limit: ${hash.cores} cores / hash time`, value: hash.limitPerSecond, unit: 'logins/s', target: '', pass: null });

  const floorRps = results.floor?.rps ?? null;
  const busy = (result: LoadResult) => {
    const shares = cpuShares(result);
    return shares ? { note: shares } : {};
  };
  if (results.floor) add({ workload: 'floor', metric: 'bare Fastify route, same JSON, cookie parsed', value: floorRps, unit: 'rps', target: '', pass: null, ...busy(results.floor) }, results.floor);

  if (results.W1) {
    add({ workload: 'W1', metric: 'signups/s (8 connections)', value: results.W1.rps, unit: 'rps', target: '', pass: null }, results.W1);
  }
  if (results.W2) {
    add({ workload: 'W2', metric: 'logins/s (16 connections)', value: results.W2.rps, unit: 'rps', target: '', pass: null }, results.W2);
    const share = ratio(results.W2.rps, hash.limitPerSecond);
    add({ workload: 'W2', metric: 'logins/s ÷ physical limit', value: share, unit: '%', target: '≥ 90 %', pass: atLeast(share, 0.9) }, results.W2);
  }
  for (const [name, result, label, target] of [
    ['W3', results.W3, 'session checks (cookie)', 0.6],
    ['W3b', results.W3b, 'bearer checks (/api/me)', 0.6],
    ['FA', results.FA, 'forward-auth checks (cookie)', 0.75],
  ] as const) {
    if (!result) continue;
    add({ workload: name, metric: `${label}/s (50 connections)`, value: result.rps, unit: 'rps', target: '', pass: null, ...busy(result) }, result);
    add({ workload: name, metric: 'p50 latency', value: result.latency.p50Ms, unit: 'ms', target: '', pass: null }, result);
    add({ workload: name, metric: 'p99 latency', value: result.latency.p99Ms, unit: 'ms', target: '', pass: null }, result);
    const share = rpsRatio(result, results.floor);
    const note = roundsNote(share.rounds, 'interleaved ');
    add({ workload: name, metric: 'rps ÷ floor', value: share.value, unit: '%', target: `≥ ${target * 100} %`, pass: atLeast(share.value, target), ...(note ? { note } : {}) }, result);
  }
  if (results.W4) {
    const { checks, logins } = results.W4;
    add({ workload: 'W4', metric: 'session checks/s during a login storm', value: checks.rps, unit: 'rps', target: '', pass: null }, checks);
    const rpsShare = ratio(checks.rps, results.W3?.rps);
    add({ workload: 'W4', metric: 'checks/s ÷ W3 alone', value: rpsShare, unit: '%', target: '≥ 50 %', pass: atLeast(rpsShare, 0.5) }, checks);
    add({ workload: 'W4', metric: 'p99 latency during the storm', value: checks.latency.p99Ms, unit: 'ms', target: '', pass: null }, checks);
    const p99Ratio = ratio(checks.latency.p99Ms, results.W3?.latency.p99Ms);
    add({ workload: 'W4', metric: 'p99 ÷ W3 p99 alone', value: p99Ratio, unit: '×', target: '≤ 3 ×', pass: atMost(p99Ratio, 3) }, checks);
    add({ workload: 'W4', metric: 'logins/s during the storm', value: logins.rps, unit: 'rps', target: '', pass: null }, logins, ['503']);
    out.push({ workload: 'W4', metric: 'logins shed with 503 during the storm', value: logins.statuses['503'] ?? 0, unit: 'count', target: '', pass: null });
  }
  if (results.W7) {
    // The rule "two-step verification must not slow session checks": W4's two targets against W3
    // alone. The storm's own rate has no target. Against W4's logins (the same checks beside them)
    // it shows what the second step costs, which hashes nothing with bcrypt; but a 10 s storm of 16
    // connections completes only tens of logins (one is several percent), and the CPU the checks
    // leave the hash threads drifts between the two runs. Against W2, which runs alone, it would
    // mostly measure the checks' share of the CPU.
    const { checks, logins } = results.W7;
    add({ workload: 'W7', metric: 'session checks/s during a two-step login storm', value: checks.rps, unit: 'rps', target: '', pass: null }, checks);
    const rpsShare = ratio(checks.rps, results.W3?.rps);
    add({ workload: 'W7', metric: 'checks/s ÷ W3 alone', value: rpsShare, unit: '%', target: '≥ 50 %', pass: atLeast(rpsShare, 0.5) }, checks);
    add({ workload: 'W7', metric: 'p99 latency during the storm', value: checks.latency.p99Ms, unit: 'ms', target: '', pass: null }, checks);
    const p99Ratio = ratio(checks.latency.p99Ms, results.W3?.latency.p99Ms);
    add({ workload: 'W7', metric: 'p99 ÷ W3 p99 alone', value: p99Ratio, unit: '×', target: '≤ 3 ×', pass: atMost(p99Ratio, 3) }, checks);
    const perLogin = `2 requests each; p50 ${logins.latency.p50Ms.toFixed(0)} ms, p99 ${logins.latency.p99Ms.toFixed(0)} ms per login`;
    add({ workload: 'W7', metric: 'two-step logins/s during the storm', value: logins.rps, unit: 'rps', target: '', pass: null, note: perLogin }, logins, ['503']);
    const vsW4 = ratio(logins.rps, results.W4?.logins.rps);
    add({ workload: 'W7', metric: 'two-step logins/s ÷ W4 logins/s', value: vsW4, unit: '%', target: '', pass: null, note: 'both beside W3: what the second step costs' }, logins, ['503']);
    const vsW2 = ratio(logins.rps, results.W2?.rps);
    add({ workload: 'W7', metric: 'two-step logins/s ÷ W2 logins/s alone', value: vsW2, unit: '%', target: '', pass: null, note: 'W2 has no checks beside it' }, logins, ['503']);
    out.push({ workload: 'W7', metric: 'logins shed with 503 during the storm', value: logins.statuses['503'] ?? 0, unit: 'count', target: '', pass: null, note: `${logins.abandoned ?? 0} passes abandoned at the first step` });
  }
  if (results.W5) {
    const { wrongPassword, unknownUser } = results.W5;
    add({ workload: 'W5', metric: 'wrong password: mean latency', value: wrongPassword.latency.meanMs, unit: 'ms', target: '', pass: null, note: `${wrongPassword.latency.samples} requests` }, wrongPassword);
    add({ workload: 'W5', metric: 'unknown user: mean latency', value: unknownUser.latency.meanMs, unit: 'ms', target: '', pass: null, note: `${unknownUser.latency.samples} requests` }, unknownUser);
    const r = ratio(unknownUser.latency.meanMs, wrongPassword.latency.meanMs);
    add({ workload: 'W5', metric: 'unknown ÷ wrong password (means)', value: r, unit: '×', target: '0.95–1.05 ×', pass: r === null ? null : Math.abs(r - 1) <= 0.05 }, unknownUser);
  }
  if (results.W6 && results.W6.length > 0) {
    for (const variant of ['hot', 'spread'] as const) {
      const label = variant === 'hot' ? `${CHECK_USERS} sessions as W3` : `${W6_SESSIONS} sessions`;
      for (const point of results.W6) {
        const checks = point[variant];
        const note = `p99 ${checks.latency.p99Ms.toFixed(2)} ms; the sizes loaded at once, sharing the CPU`;
        add({ workload: 'W6', metric: `checks/s, ${point.users.toLocaleString('en-US')} users, ${label}`, value: checks.rps, unit: 'rps', target: '', pass: null, note }, checks);
      }
      const first = results.W6[0];
      const last = results.W6[results.W6.length - 1];
      if (first && last && last !== first) {
        const r = rpsRatio(last[variant], first[variant]);
        const note = [roundsNote(r.rounds, '', ', sizes loaded at once'), last.users < 1_000_000 ? `${last.users.toLocaleString('en-US')} users, not 1 M` : undefined].filter(Boolean).join('; ');
        add(
          { workload: 'W6', metric: `${label}: rps at ${last.users.toLocaleString('en-US')} ÷ at ${first.users.toLocaleString('en-US')} users`, value: r.value, unit: '%', target: '≥ 90 %', pass: atLeast(r.value, 0.9), ...(note ? { note } : {}) },
          last[variant],
        );
      }
    }
  }
  if (results.idleRss) {
    const processes = results.idleRss.processes.length;
    out.push({
      workload: 'memory',
      metric: processes > 1 ? 'idle RSS after seeding, largest process' : 'idle RSS after seeding',
      value: results.idleRss.maxProcessMb,
      unit: 'MB',
      target: '< 150 MB',
      pass: results.idleRss.maxProcessMb < 150,
      ...(processes > 1 ? { note: `${processes} processes, ${results.idleRss.totalMb.toFixed(1)} MB together` } : {}),
    });
  }
  if (results.soak) {
    const s = results.soak;
    const short = s.seconds < 300;
    add(
      { workload: 'memory', metric: `RSS growth over a ${s.seconds} s W3 run`, value: s.growth, unit: '%', target: '≤ 10 % over 300 s', pass: short ? null : s.growth <= 0.1, note: `${s.baselineMb.toFixed(1)} → ${s.finalMb.toFixed(1)} MB${short ? '; too short for the target (--soak 300)' : ''}` },
      s.checks,
    );
  } else if (soakRequested) {
    out.push({ workload: 'memory', metric: 'RSS growth over a 300 s W3 run', value: null, unit: '%', target: '≤ 10 % over 300 s', pass: null, note: 'not run: add --soak 300' });
  }
  return out;
}
