/**
 * The typed client's types (src/client/openapi.ts, committed) are what `npm run client:generate`
 * makes from the server's OpenAPI document now. A route schema changed without regenerating fails
 * here, instead of the web app or a client compiling against routes that no longer exist.
 *
 * Checked: changing a description in src/bucketlists/bucketlists.routes.ts fails the first test
 * with the line that differs.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { CLIENT_TYPES_FILE, openApiDocument, renderClientTypes } from '../../scripts/generate-client.js';

/** The first line where two texts differ, for a short failure message. */
function firstDifference(expected: string, actual: string): string {
  const want = expected.split('\n');
  const got = actual.split('\n');
  for (let i = 0; i < Math.max(want.length, got.length); i += 1) {
    if (want[i] !== got[i]) return `line ${i + 1}: the document gives ${JSON.stringify(want[i] ?? '(end of file)')}, the committed file has ${JSON.stringify(got[i] ?? '(end of file)')}`;
  }
  return 'no difference';
}

describe('the typed client', () => {
  it('has the types of the live OpenAPI document (else run `npm run client:generate`)', async () => {
    const generated = await renderClientTypes(await openApiDocument());
    const committed = readFileSync(CLIENT_TYPES_FILE, 'utf8');
    assert.ok(
      generated === committed,
      `src/client/openapi.ts is out of date with the routes' schemas: run \`npm run client:generate\` and commit the result (${firstDifference(generated, committed)})`,
    );
  });

  it('makes the same document every time (no dates, ports or random values)', async () => {
    const [first, second] = [await openApiDocument(), await openApiDocument()];
    assert.deepEqual(second, first);
    assert.deepEqual(first.servers, [{ url: 'http://127.0.0.1:3000' }]);
  });
});
