/**
 * The hourly sweep (src/composition.ts): while the server runs, once an hour, expired browser
 * sessions, expired token logins (refresh families, with their refresh tokens) and expired mailed
 * links (email_links) are deleted,
 * and nothing live is; closing the server stops it. Without it those rows would pile up forever.
 *
 * node:test's mock timers stand in for setInterval (only it: sockets, the database and the test's
 * own waits keep real time), the app's injectable clock for "now". The sweep reads that clock as
 * soon as it runs, so counting reads tells synchronously, within tick(), whether it ran.
 *
 * Checked: with the setInterval of startHousekeeping removed, "ran at the hour" fails; at 30 minutes
 * instead of 60, "nothing before the hour" fails; without clearInterval in the onClose hook,
 * "stopped by close" fails.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TestContext } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { fakeClock, GOOD_PASSWORD, signUpClient, startTestServer, uniqueName } from '../helpers/app.js';
import type { TestServer } from '../helpers/app.js';

const HOUR_MS = 3600_000;

/** One user's rows: a browser session, a token login, and the verification link mailed at signup. */
async function userWithLogins(server: TestServer): Promise<number> {
  const name = uniqueName('sweep');
  const { user } = await signUpClient(server, name, GOOD_PASSWORD, `${name}@example.com`);
  const tokens = await server.client().post('/api/token', { username: user.username, password: GOOD_PASSWORD });
  assert.equal(tokens.status, 200);
  return user.id;
}

async function rowsOf(server: TestServer, userId: number): Promise<{ sessions: number; families: number; refreshTokens: number; links: number }> {
  const db = server.storage.db;
  const sessions = await db.selectFrom('sessions').select('id').where('user_id', '=', userId).execute();
  const families = await db.selectFrom('refresh_families').select('id').where('user_id', '=', userId).execute();
  const familyIds = families.map((f) => f.id);
  const refreshTokens = familyIds.length === 0 ? [] : await db.selectFrom('refresh_tokens').select('token_hash').where('family_id', 'in', familyIds).execute();
  const links = await db.selectFrom('email_links').select('token_hash').where('user_id', '=', userId).execute();
  return { sessions: sessions.length, families: families.length, refreshTokens: refreshTokens.length, links: links.length };
}

/** The user's rows once a sweep started within tick() has landed (polled in real time, up to 10 s). */
async function rowsAfterSweep(server: TestServer, userId: number): ReturnType<typeof rowsOf> {
  for (let i = 0; i < 200; i += 1) {
    const rows = await rowsOf(server, userId);
    if (rows.sessions + rows.families + rows.refreshTokens + rows.links === 0) return rows;
    await delay(50);
  }
  return rowsOf(server, userId);
}

describe('the hourly sweep of expired sessions, token logins and mailed links', () => {
  it('runs every hour, deletes what has expired and nothing else, and is stopped by close', async (t: TestContext) => {
    // Before the server is built, so the sweep's interval is a mocked one.
    t.mock.timers.enable({ apis: ['setInterval'] });
    const clock = fakeClock();
    let clockReads = 0;
    const countingClock = () => {
      clockReads += 1;
      return clock();
    };
    const server = await startTestServer({ SESSION_IDLE_TIMEOUT: '3600', REFRESH_TOKEN_TTL: '7200', EMAIL_TOKEN_TTL: '3600', RATE_LIMIT_PER_IP: '100000' }, { clock: countingClock });
    let closed = false;
    try {
      const expiredUser = await userWithLogins(server);
      // Past the idle timeout (1 h), the refresh token lifetime (2 h) and the link lifetime (1 h) of that user's rows.
      clock.advance(3 * HOUR_MS);
      const liveUser = await userWithLogins(server);
      assert.deepEqual(await rowsOf(server, expiredUser), { sessions: 1, families: 1, refreshTokens: 1, links: 1 }, 'expired rows stay until a sweep');

      const beforeTheHour = clockReads;
      t.mock.timers.tick(HOUR_MS - 1);
      assert.equal(clockReads, beforeTheHour, 'nothing before the hour');
      t.mock.timers.tick(1);
      assert.ok(clockReads > beforeTheHour, 'ran at the hour');

      assert.deepEqual(await rowsAfterSweep(server, expiredUser), { sessions: 0, families: 0, refreshTokens: 0, links: 0 }, 'the expired session, token login and link are gone');
      assert.deepEqual(await rowsOf(server, liveUser), { sessions: 1, families: 1, refreshTokens: 1, links: 1 }, 'the live ones are untouched');

      // The next hour sweeps again: the live user's logins expire now and go at the next tick.
      clock.advance(3 * HOUR_MS);
      t.mock.timers.tick(HOUR_MS);
      assert.deepEqual(await rowsAfterSweep(server, liveUser), { sessions: 0, families: 0, refreshTokens: 0, links: 0 }, 'swept again an hour later');

      await server.close();
      closed = true;
      const afterClose = clockReads;
      t.mock.timers.tick(3 * HOUR_MS);
      assert.equal(clockReads, afterClose, 'stopped by close: no sweep runs once the server has closed');
    } finally {
      if (!closed) await server.close();
    }
  });
});
