import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { REDACTED_PATHS } from '../../src/server/logging.js';
import { lazyChildLogger } from '../../src/server/request-logger.js';

function capture(): { lines: () => Array<Record<string, unknown>>; logger: pino.Logger } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  const logger = pino({ level: 'info', redact: { paths: REDACTED_PATHS, censor: '[redacted]' } }, stream);
  const lines = () =>
    chunks
      .join('')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  return { lines, logger };
}

describe('request logger (made on first use)', () => {
  it('writes what a pino child would: the request id, the message, the object, secrets redacted', () => {
    const { lines, logger } = capture();
    const log = lazyChildLogger(logger, { reqId: 'req-7' }, {});
    log.error({ body: { password: 'hunter2-secret', username: 'alice' } }, 'request errored');
    log.warn('plain message');
    log.debug('below the level');
    const [first, second, third] = lines();
    assert.equal(first?.reqId, 'req-7');
    assert.equal(first?.msg, 'request errored');
    assert.deepEqual(first?.body, { password: '[redacted]', username: 'alice' });
    assert.equal(second?.reqId, 'req-7');
    assert.equal(second?.msg, 'plain message');
    assert.equal(third, undefined, 'debug is below the info level');
  });

  it('reports and changes its level, and makes children that keep its bindings', () => {
    const { lines, logger } = capture();
    const log = lazyChildLogger(logger, { reqId: 'req-8' }, {});
    assert.equal(log.level, 'info');
    log.level = 'debug';
    log.debug('now shown');
    log.child({ step: 'hash' }, {}).info('from a child');
    const [first, second] = lines();
    assert.equal(first?.msg, 'now shown');
    assert.equal(second?.reqId, 'req-8');
    assert.equal(second?.step, 'hash');
    assert.equal(logger.level, 'info', 'the parent keeps its level');
  });
});
