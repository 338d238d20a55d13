import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, readdirSync } from 'node:fs';
import { createServer } from 'node:net';

/**
 * Child processes of the benchmark. Each one runs in a process group of its own (detached), so
 * stopping it also stops whatever it forked (cluster workers), and only what the bench started.
 */
export interface Managed {
  name: string;
  pid: number;
  logPath: string;
  child: ChildProcess;
  /** Settles when the process has exited. */
  exited: Promise<number | null>;
  stop(): Promise<void>;
}

const running = new Set<Managed>();

function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Poll `check` until it returns a value other than undefined, or fail after `timeoutMs`. */
export async function waitFor<T>(what: string, timeoutMs: number, check: () => Promise<T | undefined> | T | undefined): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${what}`);
    await sleep(100);
  }
}

/** SIGTERM to the whole group; SIGKILL whatever is left after `graceMs` (a CPU profile takes a moment to write). */
async function stopGroup(managed: Managed, graceMs: number): Promise<void> {
  signalGroup(managed.pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (groupAlive(managed.pid) && Date.now() < deadline) await sleep(50);
  if (groupAlive(managed.pid)) signalGroup(managed.pid, 'SIGKILL');
  await managed.exited;
  running.delete(managed);
}

/** Start `command` with stdout and stderr appended to `logPath`; nothing is inherited from our terminal. */
export function startProcess(name: string, command: string, args: string[], options: { env: NodeJS.ProcessEnv; cwd: string; logPath: string }): Managed {
  const fd = openSync(options.logPath, 'a');
  const child = spawn(command, args, { cwd: options.cwd, env: options.env, stdio: ['ignore', fd, fd], detached: true });
  closeSync(fd);
  if (child.pid === undefined) throw new Error(`could not start ${name}`);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const managed: Managed = {
    name,
    pid: child.pid,
    logPath: options.logPath,
    child,
    exited,
    stop: () => stopGroup(managed, 20_000),
  };
  running.add(managed);
  return managed;
}

/** Stop every process the bench started and has not stopped yet. */
export async function stopAll(): Promise<void> {
  await Promise.all([...running].map((managed) => stopGroup(managed, 10_000)));
}

/** Last resort on exit: no waiting possible, so SIGKILL. */
export function killAllNow(): void {
  for (const managed of running) signalGroup(managed.pid, 'SIGKILL');
  running.clear();
}

export function logTail(path: string, lines = 20): string {
  if (!existsSync(path)) return '';
  return readFileSync(path, 'utf8').split('\n').slice(-lines - 1).join('\n');
}

/** A port nobody listens on right now, on loopback. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function vmRssKb(pid: number): number | null {
  try {
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) : null;
  } catch {
    return null;
  }
}

/** The fields of /proc/<pid>/stat after the command name, from field 3 (state) on. */
function statFields(pid: number): string[] | null {
  try {
    // The command name may contain spaces and parentheses; the fields after the last ")" do not.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

function parentOf(pid: number): number | null {
  const fields = statFields(pid);
  return fields ? Number(fields[1]) : null;
}

function childrenOf(pid: number): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .map(Number)
    .filter((child) => parentOf(child) === pid);
}

/** Clock ticks per second of /proc's CPU times: 100 on every Linux this bench runs on (USER_HZ). */
const CLOCK_TICKS = 100;

/** CPU seconds (user + system, every thread) used so far by `pid` and its direct children (cluster workers). */
export function cpuSecondsOfTree(pid: number): number | null {
  let ticks = 0;
  for (const each of [pid, ...childrenOf(pid)]) {
    const fields = statFields(each);
    // utime and stime are fields 14 and 15 of the stat line, 12 and 13 here.
    if (fields) ticks += Number(fields[11]) + Number(fields[12]);
    else if (each === pid) return null;
  }
  return ticks / CLOCK_TICKS;
}

export interface RssSample {
  /** Sum over the process and its children (cluster workers), in MiB. */
  totalMb: number;
  /** The largest single process, in MiB. */
  maxProcessMb: number;
  processes: Array<{ pid: number; mb: number }>;
}

/** Resident memory of `pid` and its direct children, from /proc (Linux). */
export function rssOfTree(pid: number): RssSample | null {
  const own = vmRssKb(pid);
  if (own === null) return null;
  const processes = [{ pid, mb: own / 1024 }];
  for (const child of childrenOf(pid)) {
    const kb = vmRssKb(child);
    if (kb !== null) processes.push({ pid: child, mb: kb / 1024 });
  }
  const totalMb = processes.reduce((sum, p) => sum + p.mb, 0);
  return { totalMb, maxProcessMb: Math.max(...processes.map((p) => p.mb)), processes };
}
