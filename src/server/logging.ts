import { hostname } from 'node:os';
import { LogController } from 'fastify';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { pino } from 'pino';
import type { DestinationStream } from 'pino';
import type { Config } from '../config.js';

/** Everything a log line must never show. */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-csrf-token"]',
  'res.headers["set-cookie"]',
  '*.password',
  '*.password_confirmation',
  '*.token',
  '*.access_token',
  '*.refresh_token',
  '*.csrf_token',
];

/** The application log, and the access log when it has a destination of its own (see AccessLog). */
export interface Loggers {
  log: pino.Logger;
  access: pino.Logger | null;
}

/**
 * The process's loggers at LOG_LEVEL, secrets redacted. By default they write to stdout without
 * blocking the event loop on each line (pino flushes them at exit); tests pass a stream of their own.
 */
export function createLoggers(config: Pick<Config, 'logLevel'>, stream?: DestinationStream): Loggers {
  const destination = stream ?? pino.destination({ dest: 1, sync: false });
  const log = pino(
    {
      level: config.logLevel,
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      serializers: {
        // The path only: a query string may carry credentials someone sent by mistake.
        req: (request: FastifyRequest) => ({ method: request.method, url: request.url.split('?')[0], remoteAddress: request.ip }),
        res: (reply: FastifyReply) => ({ statusCode: reply.statusCode }),
        err: pino.stdSerializers.err,
      },
    },
    destination,
  );
  const access = stream ? null : pino({ level: config.logLevel, base: { pid: process.pid, hostname: hostname() } }, destination);
  return { log, access };
}

/**
 * One access-log line per request, when it completes, written by a logger of its own: its fields
 * are fixed and free of secrets by construction (the path without the query string), so it skips
 * the redaction pass that the application log runs on every object — most of a logged check's cost.
 */
export class AccessLog extends LogController {
  constructor(
    private readonly enabled: boolean,
    private readonly access: pino.Logger | null,
  ) {
    super();
  }

  override incomingRequest(): void {}

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (this.isLogDisabled(request)) return;
    if (error) {
      reply.log.error({ req: request, res: reply, err: error, responseTime: reply.elapsedTime }, 'request errored');
      return;
    }
    if (!this.enabled) return;
    if (!this.access) {
      reply.log.info({ req: request, res: reply, responseTime: reply.elapsedTime }, 'request completed');
      return;
    }
    if (!this.access.isLevelEnabled('info')) return;
    this.access.info(
      { reqId: request.id, method: request.method, url: request.url.split('?')[0], statusCode: reply.statusCode, remoteAddress: request.ip, responseTime: reply.elapsedTime },
      'request completed',
    );
  }
}
