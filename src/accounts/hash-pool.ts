import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/**
 * `pad`: a second hash to compare the password with after `hash`, its result ignored. It makes a
 * comparison against a cheaper stored hash cost what one at the configured cost does, within the
 * same job (one slot, one unit of queue work).
 */
export type HashJob = { op: 'hash'; password: string; cost: number } | { op: 'compare'; password: string; hash: string; pad?: string };

/** What runs hash jobs: the thread pool below, or a stand-in a test injects into PasswordHasher. */
export interface HashWorkers {
  /** Resolves to the hash (op `hash`) or whether the password matched (op `compare`). */
  run(job: HashJob): Promise<string | boolean>;
  close(): Promise<void>;
}

type WorkerMessage = { ready: true } | { result: string | boolean } | { error: string };

/**
 * The worker's whole program. It lowers its own thread's scheduling priority (Linux applies
 * setpriority to a thread id), so when hashing saturates the cores the event loop that answers
 * session checks still gets the CPU first, and hashing takes whatever is left.
 *
 * It is never stopped with worker.terminate(): terminating a thread while bcrypt's addon is
 * loading, or while it returns a result, makes node-addon-api throw a C++ exception that
 * nothing catches, and that aborts the whole process. It is asked to leave instead ('exit'),
 * which it reads only between jobs, and it says when it has loaded.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { readlinkSync } = require('node:fs');
const os = require('node:os');
const bcrypt = require(workerData.bcryptPath);
if (workerData.niceness > 0) {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    os.setPriority(tid, workerData.niceness);
  } catch {}
}
function compare(job) {
  const matches = bcrypt.compareSync(job.password, job.hash);
  if (job.pad) bcrypt.compareSync(job.password, job.pad);
  return matches;
}
parentPort.on('message', (job) => {
  if (job.op === 'exit') {
    parentPort.close();
    return;
  }
  try {
    const result = job.op === 'hash' ? bcrypt.hashSync(job.password, job.cost) : compare(job);
    parentPort.postMessage({ result });
  } catch (error) {
    parentPort.postMessage({ error: String(error && error.message || error) });
  }
});
parentPort.postMessage({ ready: true });
`;

interface Pending {
  resolve(value: string | boolean): void;
  reject(error: Error): void;
}

/**
 * A fixed set of worker threads running bcrypt, one job each at a time. Callers bound the
 * number of jobs in flight (PasswordHasher); this class only dispatches. A worker that dies
 * fails its job and is replaced.
 */
export class HashPool implements HashWorkers {
  readonly #idle: Worker[] = [];
  readonly #jobs = new Map<Worker, Pending>();
  readonly #bcryptPath = createRequire(import.meta.url).resolve('bcrypt');
  #closing: Promise<void> | null = null;

  constructor(
    readonly size: number,
    private readonly niceness: number,
  ) {
    for (let i = 0; i < size; i += 1) this.#idle.push(this.#spawn());
  }

  get #closed(): boolean {
    return this.#closing !== null;
  }

  #spawn(): Worker {
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { bcryptPath: this.#bcryptPath, niceness: this.niceness } });
    worker.on('message', (message: WorkerMessage) => {
      if ('ready' in message) {
        if (!this.#closed && !this.#jobs.has(worker)) worker.unref();
        return;
      }
      const job = this.#jobs.get(worker);
      this.#jobs.delete(worker);
      if (!this.#closed) worker.unref();
      this.#idle.push(worker);
      if ('error' in message) job?.reject(new Error(message.error));
      else job?.resolve(message.result);
    });
    worker.on('error', () => {});
    worker.on('exit', () => {
      const job = this.#jobs.get(worker);
      this.#jobs.delete(worker);
      const idleAt = this.#idle.indexOf(worker);
      if (idleAt !== -1) this.#idle.splice(idleAt, 1);
      job?.reject(new Error('hash worker exited'));
      if (!this.#closed) this.#idle.push(this.#spawn());
    });
    // An idle worker must not keep a finished CLI command or test process alive; a busy or
    // still-loading one must, or the process could exit with a hash pending or stop the thread
    // mid-load (see WORKER_SOURCE). It is unreffed once it says it is ready.
    return worker;
  }

  /** Run a job on an idle worker. The caller guarantees one is idle (at most `size` jobs in flight). */
  run(job: HashJob): Promise<string | boolean> {
    const worker = this.#idle.pop();
    if (!worker) return Promise.reject(new Error('HashPool: no idle worker'));
    return new Promise((resolve, reject) => {
      this.#jobs.set(worker, { resolve, reject });
      worker.ref();
      worker.postMessage(job);
    });
  }

  /** Lets every worker finish its job (a busy one answers first), then waits for it to exit. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= this.#exitAll();
    return this.#closing;
  }

  async #exitAll(): Promise<void> {
    const workers = [...this.#idle, ...this.#jobs.keys()];
    await Promise.all(
      workers.map(
        (worker) =>
          new Promise<void>((resolve) => {
            worker.once('exit', () => resolve());
            worker.ref();
            worker.postMessage({ op: 'exit' });
          }),
      ),
    );
  }
}
