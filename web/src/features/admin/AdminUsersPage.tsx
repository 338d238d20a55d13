import { useEffect, useRef, useState } from 'react';
import type { FormEvent } from 'react';
import { ErrorSummary } from '../../components/ErrorSummary';
import { Field } from '../../components/Field';
import { ErrorMessage, Loading } from '../../components/Status';
import { ApiError, errorMessage } from '../../lib/api';
import { setFlash, takeFlash } from '../../lib/flash';
import { Link, navigate, useLocation } from '../../lib/router';
import { useDocumentTitle } from '../../lib/use-document-title';
import { useResource } from '../../lib/use-resource';
import { Pagination } from '../bucketlists/Pagination';
import { AdminNav } from './AdminNav';
import { createUser, listUsers } from './admin-api';
import type { AdminUser } from './admin-api';
import { formatTime, hrefWithQuery, pageNumber } from './describe';

/** Users per page. */
export const USERS_PAGE_SIZE = 20;

export function usersHref({ q = '', page = 1 }: { q?: string; page?: number }): string {
  return hrefWithQuery('/admin/users', { q, page });
}

function UserRow({ user }: { user: AdminUser }) {
  return (
    <div className="row">
      <div className="row__main">
        <Link className="row__link" href={`/admin/users/${user.id}`}>
          {user.username}
        </Link>{' '}
        {user.role === 'admin' ? <span className="badge">Admin</span> : null} {user.disabled ? <span className="badge badge--danger">Disabled</span> : null}
        <p className="row__meta">
          {user.email ?? 'No email address'} · joined <time dateTime={user.created_at}>{formatTime(user.created_at)}</time>
        </p>
      </div>
    </div>
  );
}

type FieldName = 'username' | 'email' | 'password';

/** "Create a user": username, optional email (stored verified), first password, role. */
function CreateUserForm() {
  const [username, setUsername] = useState('');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [role, setRole] = useState<'user' | 'admin'>('user');
  const [pending, setPending] = useState(false);
  const [errors, setErrors] = useState<Partial<Record<FieldName, string>>>({});
  const [formError, setFormError] = useState<string | null>(null);
  const [failures, setFailures] = useState(0);

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    if (pending) return;
    const problems: Partial<Record<FieldName, string>> = {};
    if (!username.trim()) problems.username = 'Enter a username.';
    if (!password) problems.password = 'Enter a first password.';
    if (Object.keys(problems).length > 0) {
      setErrors(problems);
      setFormError(null);
      setFailures((n) => n + 1);
      return;
    }
    setPending(true);
    try {
      const user = await createUser({ username: username.trim(), email: email.trim() || null, password, role });
      setFlash(`Created the user “${user.username}”. Tell them their first password and ask them to change it.`);
      navigate(`/admin/users/${user.id}`);
    } catch (caught) {
      setPending(false);
      if (caught instanceof ApiError && caught.status === 401) return;
      const fields = caught instanceof ApiError ? (caught.fields ?? {}) : {};
      const known: Partial<Record<FieldName, string>> = {};
      for (const name of ['username', 'email', 'password'] as const) if (fields[name]) known[name] = fields[name];
      if (caught instanceof ApiError && caught.code === 'username_taken') known.username ??= caught.message;
      if (caught instanceof ApiError && caught.code === 'email_taken') known.email ??= caught.message;
      setErrors(known);
      setFormError(Object.keys(known).length > 0 ? null : errorMessage(caught));
      setFailures((n) => n + 1);
    }
  }

  const items = (['username', 'email', 'password'] as const).filter((name) => errors[name]).map((name) => ({ fieldId: `new-user-${name}`, message: errors[name] ?? '' }));
  return (
    <section className="card" aria-labelledby="create-user-heading">
      <h2 id="create-user-heading">Create a user</h2>
      <p className="hint">The signup rules apply. An email address given here is stored as verified: you vouch for it.</p>
      {items.length > 0 || formError ? <ErrorSummary id="new-user-errors" message={formError} items={items} focusKey={failures} /> : null}
      <form className="account-form" onSubmit={submit} noValidate>
        <Field id="new-user-username" label="Username" type="text" autoComplete="off" value={username} onChange={setUsername} error={errors.username} />
        <Field id="new-user-email" label="Email address (optional)" type="email" autoComplete="off" value={email} onChange={setEmail} error={errors.email} />
        <Field id="new-user-password" label="First password" type="password" autoComplete="new-password" value={password} onChange={setPassword} error={errors.password} />
        <div className="field">
          <label htmlFor="new-user-role" className="label">
            Role
          </label>
          <select id="new-user-role" value={role} onChange={(event) => setRole(event.target.value === 'admin' ? 'admin' : 'user')}>
            <option value="user">User</option>
            <option value="admin">Admin</option>
          </select>
        </div>
        <button type="submit" className="button" aria-disabled={pending || undefined}>
          {pending ? 'Creating…' : 'Create user'}
        </button>
      </form>
    </section>
  );
}

/** /admin/users: search, page through, open a user; create one. */
export function AdminUsersPage() {
  useDocumentTitle('Users · Admin');
  const { query } = useLocation();
  const q = (query.get('q') ?? '').trim();
  const page = pageNumber(query.get('page'));
  const { resource, reload } = useResource(`admin-users\n${page}\n${q}`, (signal) => listUsers({ ...(q ? { q } : {}), page, limit: USERS_PAGE_SIZE }, signal));
  const [message] = useState<string | null>(() => takeFlash());
  const summary = useRef<HTMLParagraphElement>(null);
  const focusSummary = useRef(false);

  useEffect(() => {
    if (resource.status === 'ready' && focusSummary.current) {
      focusSummary.current = false;
      summary.current?.focus();
    }
  }, [resource]);

  function search(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const value = new FormData(event.currentTarget).get('q');
    focusSummary.current = true;
    navigate(usersHref({ q: typeof value === 'string' ? value.trim() : '' }));
  }

  const total = resource.status === 'ready' ? resource.data.total : 0;
  const pageCount = Math.max(1, Math.ceil(total / USERS_PAGE_SIZE));
  return (
    <>
      <h1 tabIndex={-1}>Users</h1>
      <AdminNav />
      <div role="status" className="announcer">
        {message ? <p className="notice">{message}</p> : null}
      </div>
      <section className="card" aria-labelledby="users-heading">
        <h2 id="users-heading">All users</h2>
        <form className="search" role="search" method="get" action="/admin/users" onSubmit={search}>
          <label htmlFor="users-q" className="label">
            Search by username or email
          </label>
          <div className="name-form__row">
            <input id="users-q" key={q} name="q" type="search" defaultValue={q} autoComplete="off" />
            <button type="submit" className="button button--secondary">
              Search
            </button>
          </div>
        </form>
        {resource.status === 'loading' ? <Loading>Loading users…</Loading> : null}
        {resource.status === 'error' ? <ErrorMessage error={resource.error} title="Could not load the users." onRetry={reload} /> : null}
        {resource.status === 'ready' ? (
          <>
            <p className="summary" ref={summary} tabIndex={-1}>
              {total === 0
                ? q
                  ? `No users match “${q}”.`
                  : 'No users yet.'
                : `Showing ${(page - 1) * USERS_PAGE_SIZE + 1}–${(page - 1) * USERS_PAGE_SIZE + resource.data.items.length} of ${total} user${total === 1 ? '' : 's'}${q ? ` matching “${q}”` : ''}.`}{' '}
              {q ? <Link href={usersHref({})}>Clear search</Link> : null}
            </p>
            {resource.data.items.length > 0 ? (
              <ul className="rows" aria-labelledby="users-heading">
                {resource.data.items.map((user) => (
                  <li key={user.id}>
                    <UserRow user={user} />
                  </li>
                ))}
              </ul>
            ) : null}
            <Pagination page={page} pageCount={pageCount} hrefFor={(n) => usersHref({ q, page: n })} onNavigate={() => (focusSummary.current = true)} />
          </>
        ) : null}
      </section>
      <CreateUserForm />
    </>
  );
}
