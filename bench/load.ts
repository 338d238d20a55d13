import autocannon from 'autocannon';
import type { Client, Request } from 'autocannon';
import { cpuSecondsOfTree } from './processes.js';

/** One autocannon run against a loopback server. */
export interface LoadSpec {
  title: string;
  /** Origin, e.g. http://127.0.0.1:3000 */
  origin: string;
  path: string;
  method?: 'GET' | 'POST';
  connections: number;
  /** Seconds. */
  duration: number;
  headers?: Record<string, string>;
  body?: string;
  /**
   * The requests connection `index` cycles through, built once. Cheaper for the load generator
   * than `setupRequest`, which rebuilds every request.
   */
  perConnection?: (index: number) => Request[];
  /** Called before every request: for bodies that must differ each time (unique usernames). */
  setupRequest?: (request: Request) => Request;
  /**
   * Requests that together make one operation (W7: the password, then a code with the first
   * answer's token), each connection going through them again and again. The result then counts
   * operations: `rps` and `latency` are of passes whose last answer was expected, timed from the
   * first request; `statuses` still count every response. Used instead of `body`, `setupRequest`
   * and `perConnection`; `method`, `headers` and `path` (the first step's) still apply.
   */
  sequence?: SequenceStep[];
  /** Statuses that count as the workload's answer; anything else is reported as unexpected. */
  expect: number[];
  /** The server's process: its CPU time during the run is recorded, to show which side was the bottleneck. */
  serverPid?: number;
}

/** One request of a `sequence`. `context` is the pass's own: empty at its first step, shared by its later ones. */
export interface SequenceStep {
  path: string;
  /** This pass's body, from what earlier steps left in `context`; null abandons the pass (the next starts at the first step). */
  body: (context: Record<string, unknown>) => string | null;
  /** Keeps what later steps need from the answer. */
  onResponse?: (status: number, body: string, context: Record<string, unknown>) => void;
}

export interface LatencySummary {
  samples: number;
  meanMs: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
}

export interface LoadResult {
  title: string;
  path: string;
  connections: number;
  seconds: number;
  expect: number[];
  /** Expected answers per second. */
  rps: number;
  /** Responses of any status. */
  responses: number;
  statuses: Record<string, number>;
  /** Responses whose status was not in `expect`. */
  unexpected: number;
  errors: number;
  timeouts: number;
  /** For a `sequence`: passes abandoned before their last step (an earlier answer gave it nothing to send). */
  abandoned?: number;
  /** Latency of the expected answers, measured per response (sub-millisecond, unlike autocannon's histogram). */
  latency: LatencySummary;
  /**
   * CPU seconds (user + system) used during the run by the server (all its threads and cluster
   * workers) and by this process, the load generator. Divided by `seconds`: cores kept busy.
   */
  cpu?: { serverSeconds: number; loadGeneratorSeconds: number };
  /** When measured in interleaved rounds (bench/rounds.ts): each round's own result; the fields above add them up. */
  rounds?: LoadResult[];
}

/** Growable list of latencies; a plain array of 10 M numbers would cost far more memory. */
export class Samples {
  #values = new Float64Array(1 << 16);
  #count = 0;

  add(value: number): void {
    if (this.#count === this.#values.length) {
      const bigger = new Float64Array(this.#values.length * 2);
      bigger.set(this.#values);
      this.#values = bigger;
    }
    this.#values[this.#count++] = value;
  }

  addAll(other: Samples): void {
    for (const value of other.#values.subarray(0, other.#count)) this.add(value);
  }

  summary(): LatencySummary {
    const sorted = this.#values.slice(0, this.#count).sort();
    const n = sorted.length;
    const at = (p: number) => (n === 0 ? 0 : (sorted[Math.min(n - 1, Math.max(0, Math.ceil(p * n) - 1))] ?? 0));
    let sum = 0;
    for (const value of sorted) sum += value;
    return { samples: n, meanMs: n === 0 ? 0 : sum / n, p50Ms: at(0.5), p90Ms: at(0.9), p99Ms: at(0.99), maxMs: n === 0 ? 0 : (sorted[n - 1] ?? 0) };
  }
}

/**
 * A `sequence` as autocannon's `requests`. Each pass's time runs from building its first request
 * (just before it is sent) to the answer to its last; autocannon gives every pass a fresh
 * `context` object, which keys the start time.
 */
function sequenceRequests(spec: LoadSpec, steps: SequenceStep[], expected: Set<number>, samples: Samples): Request[] {
  const started = new WeakMap<object, number>();
  const last = steps.length - 1;
  return steps.map(
    (step, i): Request => ({
      method: spec.method ?? 'GET',
      path: step.path,
      headers: spec.headers ?? {},
      setupRequest: (request, context) => {
        if (i === 0) started.set(context, performance.now());
        const body = step.body(context as Record<string, unknown>);
        // autocannon reads a falsy request as "start the next pass at the first request".
        return body === null ? (null as unknown as Request) : { ...request, body };
      },
      onResponse: (status, body, context) => {
        step.onResponse?.(status, body, context as Record<string, unknown>);
        const start = started.get(context);
        if (i === last && start !== undefined && expected.has(status)) samples.add(performance.now() - start);
      },
    }),
  );
}

export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  return (await runLoadWithSamples(spec)).result;
}

/** runLoad, also handing back every latency sample, so that several runs can be merged into one (mergeLoads). */
export function runLoadWithSamples(spec: LoadSpec): Promise<{ result: LoadResult; samples: Samples }> {
  const expected = new Set(spec.expect);
  const samples = new Samples();
  const sequence = spec.sequence ? sequenceRequests(spec, spec.sequence, expected, samples) : null;
  let connectionIndex = 0;
  const options: autocannon.Options = {
    url: `${spec.origin}${spec.path}`,
    title: spec.title,
    method: spec.method ?? 'GET',
    connections: spec.connections,
    duration: spec.duration,
    // A login waiting in a full hash queue may legitimately take seconds.
    timeout: 30,
    headers: spec.headers ?? {},
    ...(spec.body !== undefined ? { body: spec.body } : {}),
    ...(spec.setupRequest
      ? { requests: [{ method: spec.method ?? 'GET', path: spec.path, headers: spec.headers ?? {}, ...(spec.body !== undefined ? { body: spec.body } : {}), setupRequest: spec.setupRequest }] }
      : {}),
    ...(spec.perConnection
      ? {
          setupClient: (client: Client) => {
            const perConnection = spec.perConnection;
            if (perConnection) client.setRequests(perConnection(connectionIndex++));
          },
        }
      : {}),
    ...(sequence ? { requests: sequence } : {}),
  };
  const serverCpuBefore = spec.serverPid === undefined ? null : cpuSecondsOfTree(spec.serverPid);
  const ownCpuBefore = process.cpuUsage();
  return new Promise((resolve, reject) => {
    const instance = autocannon(options, (error: unknown, result: autocannon.Result) => {
      if (error) {
        reject(error instanceof Error ? error : new Error(String(error)));
        return;
      }
      const ownCpu = process.cpuUsage(ownCpuBefore);
      const serverCpuAfter = spec.serverPid === undefined ? null : cpuSecondsOfTree(spec.serverPid);
      const statuses: Record<string, number> = {};
      let responses = 0;
      let unexpected = 0;
      for (const [status, stats] of Object.entries(result.statusCodeStats ?? {})) {
        const count = stats.count ?? 0;
        statuses[status] = count;
        responses += count;
        if (!expected.has(Number(status))) unexpected += count;
      }
      const latency = samples.summary();
      const seconds = result.duration;
      const loadResult: LoadResult = {
        title: spec.title,
        path: spec.path,
        connections: spec.connections,
        seconds,
        expect: spec.expect,
        rps: seconds > 0 ? latency.samples / seconds : 0,
        responses,
        statuses,
        unexpected,
        errors: result.errors,
        timeouts: result.timeouts,
        ...(sequence ? { abandoned: result.resets } : {}),
        latency,
        ...(serverCpuBefore !== null && serverCpuAfter !== null
          ? { cpu: { serverSeconds: serverCpuAfter - serverCpuBefore, loadGeneratorSeconds: (ownCpu.user + ownCpu.system) / 1e6 } }
          : {}),
      };
      resolve({ result: loadResult, samples });
    });
    instance.on('response', (_client: Client, statusCode: number, _bytes: number, responseTime: number) => {
      // A sequence's samples are whole passes, taken in its last step's onResponse.
      if (!sequence && expected.has(statusCode)) samples.add(responseTime);
    });
  });
}

/**
 * Several runs of one workload as one result: time, responses and statuses added up, rps = all
 * expected answers ÷ all the time, latency percentiles over every sample of every run. The runs
 * are kept in `rounds`.
 */
export function mergeLoads(title: string, runs: Array<{ result: LoadResult; samples: Samples }>): LoadResult {
  const first = runs[0]?.result;
  if (!first) throw new Error(`mergeLoads: no runs of ${title}`);
  const all = new Samples();
  const statuses: Record<string, number> = {};
  let seconds = 0;
  let responses = 0;
  let unexpected = 0;
  let errors = 0;
  let timeouts = 0;
  for (const { result, samples } of runs) {
    all.addAll(samples);
    for (const [status, count] of Object.entries(result.statuses)) statuses[status] = (statuses[status] ?? 0) + count;
    seconds += result.seconds;
    responses += result.responses;
    unexpected += result.unexpected;
    errors += result.errors;
    timeouts += result.timeouts;
  }
  const latency = all.summary();
  const cpus = runs.map(({ result }) => result.cpu);
  const sum = (f: (cpu: NonNullable<LoadResult['cpu']>) => number) => cpus.reduce((total, cpu) => total + (cpu ? f(cpu) : 0), 0);
  const cpu = cpus.every(Boolean) ? { serverSeconds: sum((c) => c.serverSeconds), loadGeneratorSeconds: sum((c) => c.loadGeneratorSeconds) } : undefined;
  return {
    title,
    path: first.path,
    connections: first.connections,
    seconds,
    expect: first.expect,
    rps: seconds > 0 ? latency.samples / seconds : 0,
    responses,
    statuses,
    unexpected,
    errors,
    timeouts,
    latency,
    ...(cpu ? { cpu } : {}),
    rounds: runs.map((run) => run.result),
  };
}

/** The same load, its results thrown away: lets the JIT and the server's caches warm up first. */
export async function warmUp(spec: LoadSpec, seconds: number): Promise<void> {
  if (seconds <= 0) return;
  await runLoad({ ...spec, title: `${spec.title} (warm-up)`, duration: seconds });
}

/** Statuses outside the workload's `expect` (and outside `tolerated`), with their counts. */
export function unexpectedStatuses(result: LoadResult, tolerated: string[] = []): Array<[string, number]> {
  return Object.entries(result.statuses).filter(([status]) => !result.expect.includes(Number(status)) && !tolerated.includes(status));
}

/** "server 0.99 cores, load generator 0.62": how busy each side was, or null when not measured. */
export function cpuShares(result: LoadResult): string | null {
  if (!result.cpu || result.seconds <= 0) return null;
  const cores = (seconds: number) => (seconds / result.seconds).toFixed(2);
  return `server ${cores(result.cpu.serverSeconds)} cores, load generator ${cores(result.cpu.loadGeneratorSeconds)}`;
}

/** One line for the terminal. */
export function describe(result: LoadResult): string {
  const others = unexpectedStatuses(result).map(([status, count]) => `${count}×${status}`);
  const cpu = cpuShares(result);
  return (
    `${result.rps.toFixed(1)} rps, p50 ${result.latency.p50Ms.toFixed(2)} ms, p99 ${result.latency.p99Ms.toFixed(2)} ms, mean ${result.latency.meanMs.toFixed(2)} ms` +
    (cpu ? `; ${cpu}` : '') +
    (result.errors > 0 ? `, ${result.errors} errors` : '') +
    (result.abandoned ? `, ${result.abandoned} passes abandoned` : '') +
    (others.length > 0 ? `, other statuses: ${others.join(' ')}` : '')
  );
}
