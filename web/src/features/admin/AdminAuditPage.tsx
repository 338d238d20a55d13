import { useEffect, useRef, useState } from 'react';
import type { FormEvent } from 'react';
import { ErrorSummary } from '../../components/ErrorSummary';
import { ErrorMessage, Loading } from '../../components/Status';
import { navigate, useLocation, Link } from '../../lib/router';
import { useDocumentTitle } from '../../lib/use-document-title';
import { useResource } from '../../lib/use-resource';
import { Pagination } from '../bucketlists/Pagination';
import { AdminNav } from './AdminNav';
import { AUDIT_EVENT_NAMES, listAudit } from './admin-api';
import type { AuditEventName, AuditFilter } from './admin-api';
import { AuditTable } from './AuditTable';
import { eventLabel, hrefWithQuery, pageNumber } from './describe';

/** Rows per page. */
export const AUDIT_PAGE_SIZE = 25;

const EVENTS: ReadonlySet<string> = new Set(AUDIT_EVENT_NAMES);

function isEventName(value: string): value is AuditEventName {
  return EVENTS.has(value);
}
const USER_ID = /^[1-9][0-9]{0,9}$/;
/** A datetime-local value: the reader's local time, to the minute (or second). */
const LOCAL_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/;

interface Filters {
  event: string;
  user_id: string;
  since: string;
  until: string;
}

/** The filters as the address holds them; anything malformed is dropped. */
function readFilters(query: URLSearchParams): Filters {
  const event = query.get('event') ?? '';
  const userId = query.get('user_id') ?? '';
  const since = query.get('since') ?? '';
  const until = query.get('until') ?? '';
  return {
    event: EVENTS.has(event) ? event : '',
    user_id: USER_ID.test(userId) ? userId : '',
    since: LOCAL_TIME.test(since) ? since : '',
    until: LOCAL_TIME.test(until) ? until : '',
  };
}

function instant(local: string): string | undefined {
  if (!local) return undefined;
  const date = new Date(local);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

export function auditHref(filters: Partial<Filters>, page = 1): string {
  return hrefWithQuery('/admin/audit', { ...filters, page });
}

/** /admin/audit: the audit log, newest first, filtered by event, user and time, a page at a time. */
export function AdminAuditPage() {
  useDocumentTitle('Audit log · Admin');
  const { query } = useLocation();
  const filters = readFilters(query);
  const page = pageNumber(query.get('page'));
  const request: AuditFilter = { page, limit: AUDIT_PAGE_SIZE };
  if (isEventName(filters.event)) request.event = filters.event;
  if (filters.user_id) request.user_id = Number(filters.user_id);
  const since = instant(filters.since);
  const until = instant(filters.until);
  if (since) request.since = since;
  if (until) request.until = until;
  const key = JSON.stringify(request);
  const { resource, reload } = useResource(`admin-audit\n${key}`, (signal) => listAudit(request, signal));
  const [userIdError, setUserIdError] = useState<string | null>(null);
  const [failures, setFailures] = useState(0);
  const summary = useRef<HTMLParagraphElement>(null);
  const focusSummary = useRef(false);

  useEffect(() => {
    if (resource.status === 'ready' && focusSummary.current) {
      focusSummary.current = false;
      summary.current?.focus();
    }
  }, [resource]);

  function filter(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const text = (name: string) => {
      const value = form.get(name);
      return typeof value === 'string' ? value.trim() : '';
    };
    const next: Filters = { event: text('event'), user_id: text('user_id'), since: text('since'), until: text('until') };
    if (next.user_id && !USER_ID.test(next.user_id)) {
      setUserIdError('Enter a user id: a whole number, such as 42.');
      setFailures((n) => n + 1);
      return;
    }
    setUserIdError(null);
    focusSummary.current = true;
    navigate(auditHref(next));
  }

  const filtered = Boolean(filters.event || filters.user_id || filters.since || filters.until);
  const total = resource.status === 'ready' ? resource.data.total : 0;
  const pageCount = Math.max(1, Math.ceil(total / AUDIT_PAGE_SIZE));
  const formKey = JSON.stringify(filters);

  return (
    <>
      <h1 tabIndex={-1}>Audit log</h1>
      <AdminNav />
      <section className="card" aria-labelledby="audit-filter-heading">
        <h2 id="audit-filter-heading">Filter</h2>
        {userIdError ? <ErrorSummary id="audit-errors" items={[{ fieldId: 'audit-user', message: userIdError }]} focusKey={failures} /> : null}
        <form key={formKey} className="audit-filter" method="get" action="/admin/audit" onSubmit={filter} noValidate>
          <div className="field">
            <label htmlFor="audit-event" className="label">
              Event
            </label>
            <select id="audit-event" name="event" defaultValue={filters.event}>
              <option value="">All events</option>
              {AUDIT_EVENT_NAMES.map((name) => (
                <option key={name} value={name}>
                  {eventLabel(name)} ({name})
                </option>
              ))}
            </select>
          </div>
          <div className={`field${userIdError ? ' field--invalid' : ''}`}>
            <label htmlFor="audit-user" className="label">
              User id
            </label>
            {userIdError ? (
              <p className="field-error" id="audit-user-error">
                <span className="visually-hidden">Error: </span>
                {userIdError}
              </p>
            ) : null}
            <input
              id="audit-user"
              name="user_id"
              type="text"
              inputMode="numeric"
              autoComplete="off"
              defaultValue={filters.user_id}
              aria-invalid={userIdError ? true : undefined}
              aria-describedby={userIdError ? 'audit-user-error' : undefined}
            />
          </div>
          <div className="field">
            <label htmlFor="audit-since" className="label">
              From (your local time)
            </label>
            <input id="audit-since" name="since" type="datetime-local" defaultValue={filters.since} />
          </div>
          <div className="field">
            <label htmlFor="audit-until" className="label">
              Until (your local time)
            </label>
            <input id="audit-until" name="until" type="datetime-local" defaultValue={filters.until} />
          </div>
          <div className="row__actions audit-filter__actions">
            <button type="submit" className="button">
              Filter
            </button>
            {filtered ? (
              <Link className="button button--secondary" href="/admin/audit" onClick={() => (focusSummary.current = true)}>
                Clear filters
              </Link>
            ) : null}
          </div>
        </form>
      </section>

      <section className="card" aria-labelledby="audit-heading">
        <h2 id="audit-heading">Events</h2>
        {resource.status === 'loading' ? <Loading>Loading the audit log…</Loading> : null}
        {resource.status === 'error' ? <ErrorMessage error={resource.error} title="Could not load the audit log." onRetry={reload} /> : null}
        {resource.status === 'ready' ? (
          <>
            <p className="summary" ref={summary} tabIndex={-1} role="status">
              {total === 0
                ? filtered
                  ? 'No events match these filters.'
                  : 'The audit log is empty.'
                : `Showing ${(page - 1) * AUDIT_PAGE_SIZE + 1}–${(page - 1) * AUDIT_PAGE_SIZE + resource.data.items.length} of ${total} event${total === 1 ? '' : 's'}${filtered ? ' matching the filters' : ''}, newest first.`}
            </p>
            {resource.data.items.length > 0 ? <AuditTable caption="Audit events, newest first" items={resource.data.items} /> : null}
            <Pagination page={page} pageCount={pageCount} hrefFor={(n) => auditHref(filters, n)} onNavigate={() => (focusSummary.current = true)} />
          </>
        ) : null}
      </section>
    </>
  );
}
