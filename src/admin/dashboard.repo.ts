import { sql } from 'kysely';
import type { Db } from '../storage/database.js';

/** The numbers on the admin console's dashboard that come from the database. */
export interface DashboardCounts {
  users: number;
  admins: number;
  disabled: number;
  browserSessions: number;
  tokenLogins: number;
  loginsSucceeded: number;
  loginsFailed: number;
  /** Accounts a login was refused for by the per-account limit (`login_throttled` rows naming a user). */
  accountsThrottled: number;
}

async function count(query: { executeTakeFirstOrThrow(): Promise<{ n: number | string | bigint }> }): Promise<number> {
  return Number((await query.executeTakeFirstOrThrow()).n);
}

/** Counts for the dashboard: users now, live sign-ins now, and login events since `since`. */
export async function dashboardCounts(db: Db, now: string, since: string): Promise<DashboardCounts> {
  const users = db.selectFrom('users');
  const events = (event: string) => db.selectFrom('audit_events').where('event', '=', event).where('occurred_at', '>=', since);
  const [all, admins, disabled, browserSessions, tokenLogins, loginsSucceeded, loginsFailed, accountsThrottled] = await Promise.all([
    count(users.select((eb) => eb.fn.countAll<number>().as('n'))),
    count(users.where('role', '=', 'admin').select((eb) => eb.fn.countAll<number>().as('n'))),
    count(users.where('disabled_at', 'is not', null).select((eb) => eb.fn.countAll<number>().as('n'))),
    count(db.selectFrom('sessions').where('expires_at', '>', now).where('idle_expires_at', '>', now).select((eb) => eb.fn.countAll<number>().as('n'))),
    count(db.selectFrom('refresh_families').where('revoked_at', 'is', null).where('expires_at', '>', now).select((eb) => eb.fn.countAll<number>().as('n'))),
    count(events('login_succeeded').select((eb) => eb.fn.countAll<number>().as('n'))),
    count(events('login_failed').select((eb) => eb.fn.countAll<number>().as('n'))),
    count(events('login_throttled').select(sql<number>`count(distinct user_id)`.as('n'))),
  ]);
  return { users: all, admins, disabled, browserSessions, tokenLogins, loginsSucceeded, loginsFailed, accountsThrottled };
}
