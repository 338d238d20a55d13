import type { FastifyBaseLogger } from 'fastify';
import type { Bindings, ChildLoggerOptions, LogFn } from 'pino';

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/**
 * `request.log`, made only when a request logs something. Fastify makes a pino child for every
 * request, and with redaction on, a child runs the redactor over its bindings: a measurable share
 * of a session check that, with the access log off, never logs (docs/benchmarks.md).
 */
class LazyRequestLogger {
  #logger: FastifyBaseLogger | null = null;

  constructor(
    private readonly parent: FastifyBaseLogger,
    private readonly bindings: Bindings,
    private readonly options: ChildLoggerOptions,
  ) {}

  /** The real pino child, made on first use. */
  resolve(): FastifyBaseLogger {
    this.#logger ??= this.parent.child(this.bindings, this.options);
    return this.#logger;
  }

  get level(): string {
    return this.resolve().level;
  }

  set level(level: string) {
    this.resolve().level = level;
  }

  child(bindings: Bindings, options?: ChildLoggerOptions): FastifyBaseLogger {
    return this.resolve().child(bindings, options);
  }
}

// The level methods live on the prototype, so a request that never logs allocates one small object.
interface LazyRequestLogger extends Pick<FastifyBaseLogger, (typeof LEVELS)[number]> {}
for (const level of LEVELS) {
  LazyRequestLogger.prototype[level] = function (this: LazyRequestLogger, ...args: Parameters<LogFn>) {
    this.resolve()[level](...args);
  } as LogFn;
}

/** Fastify's `childLoggerFactory`. */
export function lazyChildLogger(logger: FastifyBaseLogger, bindings: Bindings, options: ChildLoggerOptions): FastifyBaseLogger {
  return new LazyRequestLogger(logger, bindings, options);
}
