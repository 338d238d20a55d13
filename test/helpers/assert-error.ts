import assert from 'node:assert/strict';
import type { TestResponse } from './http.js';

export interface ErrorBody {
  error: { code: string; message: string; fields?: Record<string, string> };
}

/** Traces of internals that must never reach a client: stack frames, SQL, driver names, file paths. */
const LEAKS = [/\bat .+:\d+:\d+/, /\.ts\b|\.js\b/, /node_modules/, /\/work\/|\/home\/|\/tmp\//, /\bselect\b.+\bfrom\b/i, /\binsert into\b/i, /sqlite|postgres|kysely|SQLSTATE/i, /FST_[A-Z_]+/];

/**
 * The contract's error shape, exactly: `{"error": {code, message, fields?}}` as JSON with the
 * expected status and code, every field message a string, and nothing internal in the text.
 */
export function assertError(res: TestResponse, status: number, code: string): ErrorBody {
  assert.equal(res.status, status, `expected ${status} ${code}, got ${res.status}: ${res.text.slice(0, 300)}`);
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
  const body = res.body as ErrorBody;
  assert.deepEqual(Object.keys(body), ['error']);
  assert.equal(body.error.code, code);
  assert.equal(typeof body.error.message, 'string');
  assert.ok(body.error.message.length > 0);
  const keys = Object.keys(body.error).sort();
  assert.ok(
    keys.join() === 'code,message' || keys.join() === 'code,fields,message',
    `unexpected keys in the error: ${keys.join()}`,
  );
  if (body.error.fields !== undefined) {
    for (const [name, message] of Object.entries(body.error.fields)) {
      assert.equal(typeof message, 'string', `fields.${name}`);
    }
  }
  for (const leak of LEAKS) assert.doesNotMatch(res.text, leak);
  return body;
}

/** A 422 whose `fields` names exactly these fields. */
export function assertFields(res: TestResponse, fields: string[]): ErrorBody {
  const body = assertError(res, 422, 'validation_failed');
  assert.ok(body.error.fields, 'a 422 carries fields');
  assert.deepEqual(Object.keys(body.error.fields).sort(), [...fields].sort());
  return body;
}
