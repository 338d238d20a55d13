import { useEffect, useRef, useState } from 'react';
import { ErrorMessage, Loading } from '../../components/Status';
import { ApiError, errorMessage } from '../../lib/api';
import { setFlash, takeFlash } from '../../lib/flash';
import { Link, navigate } from '../../lib/router';
import { useDocumentTitle } from '../../lib/use-document-title';
import { useResource } from '../../lib/use-resource';
import { useUser } from '../auth/session';
import { AdminNav } from './AdminNav';
import { changeUser, clearUserFactors, deleteUser, endUserSessions, getUser, listAudit, listUserSessions } from './admin-api';
import type { AdminUser, UserDetail } from './admin-api';
import { ConfirmAction } from '../../components/ConfirmAction';
import { AuditTable } from './AuditTable';
import { deviceName, formatTime, hrefWithQuery, plural } from './describe';

function BackLink() {
  return (
    <p className="back">
      <Link href="/admin/users">
        <span aria-hidden="true">← </span>All users
      </Link>
    </p>
  );
}

/** The user's browser sessions and token logins (GET /api/admin/users/:id/sessions). */
function UserSessions({ id, version }: { id: number; version: number }) {
  const { resource, reload } = useResource(`admin-user-sessions-${id}-${version}`, (signal) => listUserSessions(id, signal));
  return (
    <section className="card" aria-labelledby="user-sessions-heading">
      <h2 id="user-sessions-heading">Where they are signed in</h2>
      {resource.status === 'loading' ? <Loading>Loading their sessions…</Loading> : null}
      {resource.status === 'error' ? <ErrorMessage error={resource.error} title="Could not load their sessions." onRetry={reload} /> : null}
      {resource.status === 'ready' ? (
        resource.data.items.length === 0 ? (
          <p className="summary">Not signed in anywhere.</p>
        ) : (
          <>
            <p className="summary">{plural(resource.data.items.length, 'live sign-in', 'live sign-ins')}.</p>
            <ul className="rows" aria-labelledby="user-sessions-heading">
              {resource.data.items.map((signIn) => {
                const device = deviceName(signIn.user_agent);
                const kind = signIn.kind === 'browser' ? 'Browser session' : 'Token login';
                return (
                  <li key={signIn.id} className="signin">
                    <h3 className="signin__title">{device ? `${kind}: ${device}` : kind}</h3>
                    <dl className="signin__details">
                      <dt>Signed in</dt>
                      <dd>
                        <time dateTime={signIn.created_at}>{formatTime(signIn.created_at)}</time>
                      </dd>
                      <dt>Last active</dt>
                      <dd>
                        <time dateTime={signIn.last_seen_at}>{formatTime(signIn.last_seen_at)}</time>
                      </dd>
                      <dt>IP address</dt>
                      <dd>{signIn.ip ?? 'Unknown'}</dd>
                    </dl>
                  </li>
                );
              })}
            </ul>
          </>
        )
      ) : null}
    </section>
  );
}

/** The user's most recent audit rows, with a link to all of them. */
function UserAudit({ id, version }: { id: number; version: number }) {
  const { resource, reload } = useResource(`admin-user-audit-${id}-${version}`, (signal) => listAudit({ user_id: id, page: 1, limit: 10 }, signal));
  return (
    <section className="card" aria-labelledby="user-audit-heading">
      <h2 id="user-audit-heading">Recent activity</h2>
      {resource.status === 'loading' ? <Loading>Loading their recent activity…</Loading> : null}
      {resource.status === 'error' ? <ErrorMessage error={resource.error} title="Could not load their recent activity." onRetry={reload} /> : null}
      {resource.status === 'ready' ? (
        <>
          {resource.data.items.length === 0 ? <p className="summary">Nothing in the audit log about them.</p> : <AuditTable caption="Their latest events, newest first" items={resource.data.items} />}
          {resource.data.total > resource.data.items.length ? (
            <p>
              <Link href={hrefWithQuery('/admin/audit', { user_id: id })}>All {resource.data.total} events about them</Link>
            </p>
          ) : null}
        </>
      ) : null}
    </section>
  );
}

/** /admin/users/:id: one user, what they have, and every admin action on them. */
export function AdminUserPage({ id }: { id: number }) {
  const me = useUser();
  const { resource, reload, update } = useResource(`admin-user-${id}`, (signal) => getUser(id, signal));
  const [message, setMessage] = useState<string | null>(() => takeFlash());
  const [version, setVersion] = useState(0);
  const [enableError, setEnableError] = useState<string | null>(null);
  const [enabling, setEnabling] = useState(false);
  const statusLine = useRef<HTMLParagraphElement>(null);
  const focusStatus = useRef(false);

  useDocumentTitle(resource.status === 'ready' ? `${resource.data.user.username} · Admin` : 'User · Admin');

  useEffect(() => {
    if (!focusStatus.current) return;
    focusStatus.current = false;
    statusLine.current?.focus();
  });

  /** After an action: the new user, the message announced and focused, the lists loaded again. */
  function done(text: string, user?: AdminUser, factors?: UserDetail['factors']) {
    setMessage(text);
    focusStatus.current = true;
    update((data) => ({ user: user ?? data.user, factors: factors ?? data.factors }));
    setVersion((n) => n + 1);
  }

  async function enable(user: AdminUser) {
    if (enabling) return;
    setEnabling(true);
    setEnableError(null);
    try {
      const changed = await changeUser(user.id, { disabled: false });
      done(`Enabled “${changed.username}”. They can log in again.`, changed);
    } catch (caught) {
      if (!(caught instanceof ApiError && caught.status === 401)) setEnableError(errorMessage(caught));
    } finally {
      setEnabling(false);
    }
  }

  if (resource.status === 'loading') {
    return (
      <>
        <BackLink />
        <h1 tabIndex={-1}>User</h1>
        <Loading>Loading the user…</Loading>
      </>
    );
  }
  if (resource.status === 'error') {
    const notFound = resource.error instanceof ApiError && resource.error.status === 404;
    return (
      <>
        <BackLink />
        <h1 tabIndex={-1}>{notFound ? 'User not found' : 'User'}</h1>
        {notFound ? <p>There is no user with the id {id}. They may have been deleted.</p> : <ErrorMessage error={resource.error} title="Could not load the user." onRetry={reload} />}
      </>
    );
  }

  const { user, factors } = resource.data;
  const itsMe = String(user.id) === String(me.id);
  const otherRole = user.role === 'admin' ? 'user' : 'admin';
  const hasFactors = factors.totp || factors.passkeys > 0 || factors.recovery_codes_left > 0;

  return (
    <>
      <BackLink />
      <div className="title-row">
        <h1 tabIndex={-1}>{user.username}</h1>
      </div>
      <AdminNav />
      <div role="status" className="announcer">
        {message ? (
          <p className="notice" ref={statusLine} tabIndex={-1}>
            {message}
          </p>
        ) : null}
      </div>

      <section className="card" aria-labelledby="user-details-heading">
        <h2 id="user-details-heading">Details</h2>
        <dl className="signin__details">
          <dt>User id</dt>
          <dd>{user.id}</dd>
          <dt>Email address</dt>
          <dd>{user.email ? `${user.email} (${user.email_verified ? 'verified' : 'not verified'})` : 'None'}</dd>
          <dt>Role</dt>
          <dd>{user.role === 'admin' ? 'Admin' : 'User'}</dd>
          <dt>Status</dt>
          <dd>{user.disabled ? 'Disabled: cannot log in' : 'Active'}</dd>
          <dt>Joined</dt>
          <dd>
            <time dateTime={user.created_at}>{formatTime(user.created_at)}</time>
          </dd>
          <dt>Two-step verification</dt>
          <dd>{factors.totp ? `On (${plural(factors.recovery_codes_left, 'recovery code', 'recovery codes')} left)` : 'Off'}</dd>
          <dt>Passkeys</dt>
          <dd>{factors.passkeys}</dd>
        </dl>
      </section>

      <section className="card" aria-labelledby="user-manage-heading">
        <h2 id="user-manage-heading">Manage</h2>
        {itsMe ? <p className="hint">This is your own account. Changing your role or disabling yourself ends your admin access.</p> : null}
        <div className="admin-actions">
          <div className="admin-action">
            <h3 className="admin-action__title">Role</h3>
            <p className="hint">{user.role === 'admin' ? 'An admin can use this console and the admin API.' : 'A regular user, without access to this console.'}</p>
            <ConfirmAction
              key={`role-${user.role}`}
              id="role"
              label={user.role === 'admin' ? 'Make a regular user' : 'Make admin'}
              question={
                user.role === 'admin'
                  ? `Take the admin role from “${user.username}”? They lose access to this console from their next request.`
                  : `Make “${user.username}” an admin? They can then manage every user, app and the audit log.`
              }
              confirmLabel={user.role === 'admin' ? 'Yes, make a regular user' : 'Yes, make admin'}
              pendingLabel="Changing the role…"
              purpose={`change the role of “${user.username}”`}
              onConfirm={async () => {
                const changed = await changeUser(user.id, { role: otherRole });
                done(`“${changed.username}” is now ${changed.role === 'admin' ? 'an admin' : 'a regular user'}.`, changed);
              }}
            />
          </div>

          <div className="admin-action">
            <h3 className="admin-action__title">{user.disabled ? 'Disabled' : 'Access'}</h3>
            {user.disabled ? (
              <>
                <p className="hint">They cannot log in, and no token of theirs works.</p>
                <button type="button" className="button button--secondary" onClick={() => void enable(user)} aria-disabled={enabling || undefined}>
                  {enabling ? 'Enabling…' : 'Enable'}
                </button>
                {enableError ? (
                  <p className="field-error" role="alert">
                    Could not enable: {enableError}
                  </p>
                ) : null}
              </>
            ) : (
              <>
                <p className="hint">Disabling ends every session and token login at once and refuses their logins until enabled again.</p>
                <ConfirmAction
                  id="disable"
                  label="Disable"
                  hiddenLabel={user.username}
                  question={`Disable “${user.username}”? Every session and token login of theirs ends now, and they cannot log in until you enable them.`}
                  confirmLabel="Yes, disable"
                  pendingLabel="Disabling…"
                  purpose={`disable “${user.username}”`}
                  onConfirm={async () => {
                    const changed = await changeUser(user.id, { disabled: true });
                    done(`Disabled “${changed.username}”. Their sessions have ended.`, changed);
                  }}
                />
              </>
            )}
          </div>

          <div className="admin-action">
            <h3 className="admin-action__title">Sessions</h3>
            <p className="hint">End every browser session and token login, without disabling them: they can log in again.</p>
            <ConfirmAction
              id="end-sessions"
              label="End all sessions"
              question={`End every session and token login of “${user.username}”? They will have to log in again.`}
              confirmLabel="Yes, end all sessions"
              pendingLabel="Ending…"
              purpose={`end the sessions of “${user.username}”`}
              onConfirm={async () => {
                const { revoked } = await endUserSessions(user.id);
                done(revoked === 0 ? `“${user.username}” was not signed in anywhere.` : `Ended ${plural(revoked, 'session', 'sessions')} of “${user.username}”.`);
              }}
            />
          </div>

          {hasFactors ? (
            <div className="admin-action">
              <h3 className="admin-action__title">Lost device</h3>
              <p className="hint">Remove their authenticator app, recovery codes and passkeys, and end all their sessions: they log in with the password alone and set up two-step verification again.</p>
              <ConfirmAction
                id="clear-factors"
                label="Clear two-step verification and passkeys"
                question={`Remove every second factor and passkey of “${user.username}” and end their sessions? Only do this once you are sure it is really them asking.`}
                confirmLabel="Yes, clear them"
                pendingLabel="Clearing…"
                purpose={`clear the second factors of “${user.username}”`}
                onConfirm={async () => {
                  await clearUserFactors(user.id);
                  done(`Cleared the second factors and passkeys of “${user.username}”.`, undefined, { totp: false, recovery_codes_left: 0, passkeys: 0 });
                }}
              />
            </div>
          ) : null}
        </div>
      </section>

      <UserSessions id={user.id} version={version} />
      <UserAudit id={user.id} version={version} />

      <section className="card card--danger" aria-labelledby="user-delete-heading">
        <h2 id="user-delete-heading">Delete user</h2>
        <p>Deleting the user ends all their sessions and deletes everything they own. Their username and email become free. The audit log keeps its rows about them. This cannot be undone.</p>
        <ConfirmAction
          id="delete-user"
          danger
          label="Delete user"
          hiddenLabel={user.username}
          question={`Delete the user “${user.username}” and everything they own? This cannot be undone.`}
          confirmLabel="Yes, delete the user"
          pendingLabel="Deleting…"
          purpose={`delete the user “${user.username}”`}
          onConfirm={async (currentPassword) => {
            await deleteUser(user.id, currentPassword);
            if (itsMe) {
              window.location.assign('/login');
              return;
            }
            setFlash(`Deleted the user “${user.username}”.`);
            navigate('/admin/users');
          }}
        />
      </section>
    </>
  );
}
