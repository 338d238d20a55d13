import { ErrorMessage, Loading } from '../../components/Status';
import { Link } from '../../lib/router';
import { useDocumentTitle } from '../../lib/use-document-title';
import { useResource } from '../../lib/use-resource';
import { AdminNav } from './AdminNav';
import { getDashboard } from './admin-api';
import { formatTime } from './describe';

interface StatProps {
  label: string;
  value: number;
  /** Where the number comes from in more detail, e.g. the audit log filtered. */
  href?: string;
  warn?: boolean;
}

/** One number with its label; a term and its value in the card's description list. */
function Stat({ label, value, href, warn = false }: StatProps) {
  return (
    <div className={`stat${warn && value > 0 ? ' stat--warn' : ''}`}>
      <dt className="stat__label">{label}</dt>
      <dd className="stat__value">{href ? <Link href={href}>{value}</Link> : value}</dd>
    </div>
  );
}

/** /admin: the numbers an operator watches (GET /api/admin/dashboard). */
export function AdminDashboardPage() {
  useDocumentTitle('Admin');
  const { resource, reload } = useResource('admin-dashboard', (signal) => getDashboard(signal));

  return (
    <>
      <h1 tabIndex={-1}>Admin</h1>
      <AdminNav />
      {resource.status === 'loading' ? <Loading>Loading the dashboard…</Loading> : null}
      {resource.status === 'error' ? <ErrorMessage error={resource.error} title="Could not load the dashboard." onRetry={reload} /> : null}
      {resource.status === 'ready' ? (
        <>
          <p className="lead">
            As of <time dateTime={resource.data.at}>{formatTime(resource.data.at)}</time>.{' '}
            <button type="button" className="button button--secondary button--small" onClick={reload}>
              Refresh
            </button>
          </p>
          <div className="stats">
            <section className="card" aria-labelledby="stats-users">
              <h2 id="stats-users">Users</h2>
              <dl className="stat-list">
                <Stat label="Accounts" value={resource.data.users.total} href="/admin/users" />
                <Stat label="Admins" value={resource.data.users.admins} />
                <Stat label="Disabled" value={resource.data.users.disabled} />
              </dl>
            </section>
            <section className="card" aria-labelledby="stats-signed-in">
              <h2 id="stats-signed-in">Signed in now</h2>
              <dl className="stat-list">
                <Stat label="Browser sessions" value={resource.data.signed_in.browser_sessions} />
                <Stat label="Token logins" value={resource.data.signed_in.token_logins} />
              </dl>
            </section>
            <section className="card" aria-labelledby="stats-last-hour">
              <h2 id="stats-last-hour">Last hour</h2>
              <dl className="stat-list">
                <Stat label="Logins" value={resource.data.last_hour.logins_succeeded} href={`/admin/audit?event=login_succeeded`} />
                <Stat label="Failed logins" value={resource.data.last_hour.logins_failed} href={`/admin/audit?event=login_failed`} warn />
                <Stat label="Locked accounts" value={resource.data.last_hour.locked_accounts} href={`/admin/audit?event=login_throttled`} warn />
              </dl>
            </section>
            <section className="card" aria-labelledby="stats-mail">
              <h2 id="stats-mail">Mail</h2>
              <dl className="stat-list">
                <Stat label="Waiting to be sent" value={resource.data.mail_queue} warn />
              </dl>
              <p className="hint">The queue of the server instance that answered; each instance has its own.</p>
            </section>
          </div>
        </>
      ) : null}
    </>
  );
}
