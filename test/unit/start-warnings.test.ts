import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startWarnings } from '../../src/cli/serve.js';
import { loadConfig } from '../../src/config.js';

describe('warnings at start', () => {
  it('warns when instances share a PostgreSQL database but PUBLIC_URL is derived, and not otherwise', () => {
    const shared = 'postgres://gatehouse@db.internal:5432/gatehouse';
    const [warning, ...more] = startWarnings(loadConfig({ DATABASE_URL: shared }));
    assert.match(warning ?? '', /PUBLIC_URL is not set/);
    assert.match(warning ?? '', /http:\/\/127\.0\.0\.1:3000/);
    assert.deepEqual(more, []);
    assert.deepEqual(startWarnings(loadConfig({ DATABASE_URL: shared, PUBLIC_URL: 'https://auth.example.com' })), []);
    assert.deepEqual(startWarnings(loadConfig({ DATABASE_URL: 'sqlite:./data/x.db' })), []);
  });
});
