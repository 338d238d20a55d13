import type { Generated } from 'kysely';

/** Append-only. No foreign key: rows outlive the user, whose id and name are copied in. */
export interface AuditEventsTable {
  id: Generated<number>;
  occurred_at: string;
  event: string;
  user_id: number | null;
  username: string | null;
  actor_id: number | null;
  ip: string | null;
  user_agent: string | null;
  /** JSON object with event-specific detail; never a password or token. */
  detail: string | null;
}
