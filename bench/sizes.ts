import type { BenchDatabase } from './database.js';
import { warmUp } from './load.js';
import type { Results } from './report.js';
import { concurrently, roundSeconds } from './rounds.js';
import { startGatehouse } from './servers.js';
import type { Bench, Server } from './servers.js';
import { CHECK_USERS, checkSpec, say, spread, W6_SESSIONS } from './workloads.js';

export interface SizeOptions {
  /** Users per database, increasing; the first is what `base` holds. */
  sizes: number[];
  rounds: number;
  /** Seconds per check, shared out over the rounds. */
  duration: number;
  warmup: number;
}

/**
 * W6: at each database size, W3 with 8 sessions (as in W3) and with 1000 sessions spread over all
 * users. Every size gets a database of its own, prepared while no server runs: each a copy of the
 * next smaller one with users added. Then one server per size starts, and in every round all sizes
 * are loaded at the same time, so "1 M ÷ 1 k" compares the same moments of the machine. `base` is a database nobody else uses, holding sizes[0] users.
 */
export async function sizeRun(bench: Bench, options: SizeOptions, base: BenchDatabase, passwordHash: string): Promise<NonNullable<Results['W6']>> {
  const databases = [base];
  for (let i = 1; i < options.sizes.length; i += 1) {
    const from = options.sizes[i - 1] ?? 0;
    const size = options.sizes[i] ?? 0;
    const start = Date.now();
    // Tracked at once, so cleanup (also on errors and Ctrl-C) drops it.
    const database = bench.track(await (databases[i - 1] ?? base).clone(`w6-${size}`));
    await database.seedUsers(from, size, passwordHash);
    say(`W6 database for ${size.toLocaleString('en-US')} users: a copy of the ${from.toLocaleString('en-US')}-user one, users ${from + 1}…${size} added, in ${((Date.now() - start) / 1000).toFixed(1)} s`);
    databases.push(database);
  }
  // Sessions only now: a copy made earlier would have carried the smaller database's sessions along.
  const points: Array<{ size: number; users: string; database: BenchDatabase; headerSets: Array<Record<string, string>> }> = [];
  for (const [i, database] of databases.entries()) {
    const size = options.sizes[i] ?? 0;
    const tokens = await database.seedSessions(spread(W6_SESSIONS, size));
    const users = (await database.countUsers()).toLocaleString('en-US');
    points.push({ size, users, database, headerSets: tokens.map((token) => ({ cookie: `gatehouse_session=${token}` })) });
  }

  const servers: Server[] = [];
  try {
    for (const point of points) servers.push(await startGatehouse(bench, `${point.size}-users`, false, point.database));
    const seconds = roundSeconds(options.duration, options.rounds);
    const hotSpecs = points.map((point, i) => {
      const hotSets = spread(CHECK_USERS, point.headerSets.length).map((n) => point.headerSets[n - 1] ?? {});
      return checkSpec(`W6 session checks, ${point.users} users, ${hotSets.length} sessions as in W3`, servers[i]?.origin ?? '', seconds, '/check_session', hotSets);
    });
    const wideSpecs = points.map((point, i) =>
      checkSpec(`W6 session checks, ${point.users} users, ${point.headerSets.length} sessions`, servers[i]?.origin ?? '', seconds, '/check_session', point.headerSets),
    );
    for (const [i, server] of servers.entries()) {
      const probe = await fetch(`${server.origin}/check_session`, { headers: points[i]?.headerSets[0] ?? {} });
      await probe.arrayBuffer();
      if (probe.status !== 200) {
        throw new Error(`a seeded session was refused (${probe.status}): bench/database.ts no longer matches how src/sessions stores sessions`);
      }
    }
    say(
      `→ W6: ${points.map((p) => p.users).join(', ')} users, one server each, all loaded at once; ${options.rounds} round(s) of ` +
        `${CHECK_USERS} sessions per size and then ${W6_SESSIONS}, ${seconds.toFixed(1)} s each (after a ${options.warmup} s warm-up per server)`,
    );
    // One warm-up per server, with the 1000 sessions: it takes both the cache and the database path.
    for (const wide of wideSpecs) await warmUp(wide, options.warmup);
    // All sizes at once, the 8-session checks and then the 1000-session ones: a size's rps against
    // another's then compares the same moments of the machine.
    const measured = await concurrently([hotSpecs, wideSpecs], options.rounds);
    const n = points.length;
    return points.map((point, i) => {
      const hot = measured[i];
      const wide = measured[n + i];
      if (!hot || !wide) throw new Error('W6: a size was not measured');
      return { users: point.size, hot, spread: wide };
    });
  } finally {
    for (const server of servers) await server.process.stop();
  }
}
