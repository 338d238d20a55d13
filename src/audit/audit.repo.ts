import type { AuditEventName } from './audit-events.js';
import type { Db } from '../storage/database.js';

export { AUDIT_EVENTS } from './audit-events.js';
export type { AuditEventName } from './audit-events.js';


export interface AuditEntry {
  event: AuditEventName;
  userId?: number | null;
  username?: string | null;
  actorId?: number | null;
  ip?: string | null;
  userAgent?: string | null;
  detail?: Record<string, string | number | boolean | null>;
}

export interface AuditRecord {
  id: number;
  occurred_at: string;
  event: string;
  user_id: number | null;
  username: string | null;
  actor_id: number | null;
  ip: string | null;
  user_agent: string | null;
  detail: Record<string, unknown> | null;
}

/**
 * Append one security event. Never pass a password or token in `detail`. When the entry names a
 * user but not their username, the username is copied from the users table in the same statement,
 * so every row keeps a readable name after the user is deleted.
 *
 * @example await recordAudit(db, { event: 'logout', userId: 7, ip, userAgent }, isoNow())
 */
export async function recordAudit(db: Db, entry: AuditEntry, now: string): Promise<void> {
  const userId = entry.userId ?? null;
  const username =
    entry.username !== undefined && entry.username !== null
      ? entry.username
      : userId !== null
        ? db.selectFrom('users').select('users.username').where('users.id', '=', userId)
        : null;
  await db
    .insertInto('audit_events')
    .values({
      occurred_at: now,
      event: entry.event,
      user_id: userId,
      username,
      actor_id: entry.actorId ?? null,
      ip: entry.ip ?? null,
      user_agent: entry.userAgent?.slice(0, 512) ?? null,
      detail: entry.detail ? JSON.stringify(entry.detail) : null,
    })
    .execute();
}

export interface AuditQuery {
  limit: number;
  page: number;
  userId?: number | undefined;
  event?: string | undefined;
  /** Only rows at or after this instant (ISO 8601). */
  since?: string | undefined;
  /** Only rows before this instant (ISO 8601). */
  until?: string | undefined;
}

/** Audit rows, newest first, optionally for one user, one event name and a time range. */
export async function listAudit(db: Db, options: AuditQuery): Promise<{ items: AuditRecord[]; total: number }> {
  let query = db.selectFrom('audit_events');
  if (options.userId !== undefined) query = query.where('user_id', '=', options.userId);
  if (options.event !== undefined) query = query.where('event', '=', options.event);
  if (options.since !== undefined) query = query.where('occurred_at', '>=', options.since);
  if (options.until !== undefined) query = query.where('occurred_at', '<', options.until);
  const [rows, count] = await Promise.all([
    query
      .selectAll()
      .orderBy('id', 'desc')
      .limit(options.limit)
      .offset((options.page - 1) * options.limit)
      .execute(),
    query.select((eb) => eb.fn.countAll<number>().as('count')).executeTakeFirstOrThrow(),
  ]);
  return {
    items: rows.map((row) => ({
      ...row,
      id: Number(row.id),
      user_id: row.user_id === null ? null : Number(row.user_id),
      actor_id: row.actor_id === null ? null : Number(row.actor_id),
      detail: parseDetail(row.detail),
    })),
    total: Number(count.count),
  };
}

function parseDetail(detail: string | null): Record<string, unknown> | null {
  if (detail === null) return null;
  try {
    const parsed: unknown = JSON.parse(detail);
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}
