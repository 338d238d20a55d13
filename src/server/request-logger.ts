import type { FastifyBaseLogger } from 'fastify';
import type { Bindings, ChildLoggerOptions } from 'pino';

type Level = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
type LogArgs = [unknown, ...unknown[]];

function forward(logger: FastifyBaseLogger, level: Level, args: LogArgs): void {
  Reflect.apply(logger[level], logger, args);
}

/**
 * `request.log`, made only when a request logs something. Fastify makes a pino child for every
 * request, and with redaction on, a child runs the redactor over its bindings: a measurable share
 * of a session check that, with the access log off, never logs (docs/benchmarks.md).
 */
class LazyRequestLogger implements FastifyBaseLogger {
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

  fatal(...args: LogArgs): void {
    forward(this.resolve(), 'fatal', args);
  }

  error(...args: LogArgs): void {
    forward(this.resolve(), 'error', args);
  }

  warn(...args: LogArgs): void {
    forward(this.resolve(), 'warn', args);
  }

  info(...args: LogArgs): void {
    forward(this.resolve(), 'info', args);
  }

  debug(...args: LogArgs): void {
    forward(this.resolve(), 'debug', args);
  }

  trace(...args: LogArgs): void {
    forward(this.resolve(), 'trace', args);
  }

  silent(...args: LogArgs): void {
    forward(this.resolve(), 'silent', args);
  }

  child(bindings: Bindings, options?: ChildLoggerOptions): FastifyBaseLogger {
    return this.resolve().child(bindings, options);
  }
}

/** Fastify's `childLoggerFactory`. */
export function lazyChildLogger(logger: FastifyBaseLogger, bindings: Bindings, options: ChildLoggerOptions): FastifyBaseLogger {
  return new LazyRequestLogger(logger, bindings, options);
}
