import { useId } from 'react';
import { Link } from '../../lib/router';
import type { AuditEvent } from './admin-api';
import { detailText, eventLabel, formatTime } from './describe';

/**
 * Audit rows as a table: when, what, about whom, by which admin, from where, the detail. It scrolls
 * sideways inside its own focusable region on narrow screens, so the page itself never does.
 */
export function AuditTable({ caption, items }: { caption: string; items: AuditEvent[] }) {
  const captionId = useId();
  return (
    <div className="table-scroll" role="region" aria-labelledby={captionId} tabIndex={0}>
      <table className="audit-table">
        <caption id={captionId}>{caption}</caption>
        <thead>
          <tr>
            <th scope="col">Time</th>
            <th scope="col">Event</th>
            <th scope="col">User</th>
            <th scope="col">By admin</th>
            <th scope="col">IP address</th>
            <th scope="col">Detail</th>
          </tr>
        </thead>
        <tbody>
          {items.map((row) => (
            <tr key={row.id}>
              <td>
                <time dateTime={row.occurred_at}>{formatTime(row.occurred_at)}</time>
              </td>
              <td>
                {eventLabel(row.event)}
                <br />
                <code className="audit-table__code">{row.event}</code>
              </td>
              <td>{row.user_id !== null ? <Link href={`/admin/users/${row.user_id}`}>{row.username ?? `#${row.user_id}`}</Link> : (row.username ?? '—')}</td>
              <td>{row.actor_id !== null ? <Link href={`/admin/users/${row.actor_id}`}>#{row.actor_id}</Link> : '—'}</td>
              <td>{row.ip ?? '—'}</td>
              <td className="audit-table__detail">{detailText(row.detail) || '—'}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
