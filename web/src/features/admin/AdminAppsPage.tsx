import { useEffect, useRef, useState } from 'react';
import type { FormEvent } from 'react';
import { ErrorSummary } from '../../components/ErrorSummary';
import { Field } from '../../components/Field';
import { ErrorMessage, Loading } from '../../components/Status';
import { ApiError, errorMessage } from '../../lib/api';
import { useLocation } from '../../lib/router';
import { useDocumentTitle } from '../../lib/use-document-title';
import { useResource } from '../../lib/use-resource';
import { Pagination } from '../bucketlists/Pagination';
import { AdminNav } from './AdminNav';
import { createOidcClient, deleteOidcClient, listOidcClients } from './admin-api';
import type { NewOidcClient, OidcClient } from './admin-api';
import { ConfirmAction } from '../../components/ConfirmAction';
import { formatTime, hrefWithQuery, pageNumber } from './describe';

export const APPS_PAGE_SIZE = 20;

type FieldName = 'client_name' | 'redirect_uris';

/** "Register an app": a name, its redirect URIs (one a line), public or confidential, first-party or not. */
function CreateAppForm({ onCreated }: { onCreated: (created: NewOidcClient) => void }) {
  const [name, setName] = useState('');
  const [uris, setUris] = useState('');
  const [isPublic, setIsPublic] = useState(false);
  const [firstParty, setFirstParty] = useState(false);
  const [pending, setPending] = useState(false);
  const [errors, setErrors] = useState<Partial<Record<FieldName, string>>>({});
  const [formError, setFormError] = useState<string | null>(null);
  const [failures, setFailures] = useState(0);

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    if (pending) return;
    const redirectUris = uris
      .split(/\s+/)
      .map((uri) => uri.trim())
      .filter(Boolean);
    const problems: Partial<Record<FieldName, string>> = {};
    if (!name.trim()) problems.client_name = 'Enter the app’s name.';
    if (redirectUris.length === 0) problems.redirect_uris = 'Enter at least one redirect URI.';
    if (Object.keys(problems).length > 0) {
      setErrors(problems);
      setFormError(null);
      setFailures((n) => n + 1);
      return;
    }
    setPending(true);
    try {
      const created = await createOidcClient({ client_name: name.trim(), redirect_uris: redirectUris, token_endpoint_auth_method: isPublic ? 'none' : 'client_secret_basic', first_party: firstParty });
      setPending(false);
      setName('');
      setUris('');
      setIsPublic(false);
      setFirstParty(false);
      setErrors({});
      setFormError(null);
      onCreated(created);
    } catch (caught) {
      setPending(false);
      if (caught instanceof ApiError && caught.status === 401) return;
      const fields = caught instanceof ApiError ? (caught.fields ?? {}) : {};
      const known: Partial<Record<FieldName, string>> = {};
      if (fields.client_name) known.client_name = fields.client_name;
      const uriError = Object.entries(fields).find(([key]) => key.startsWith('redirect_uris'))?.[1];
      if (uriError) known.redirect_uris = uriError;
      setErrors(known);
      setFormError(Object.keys(known).length > 0 ? null : errorMessage(caught));
      setFailures((n) => n + 1);
    }
  }

  const items = (['client_name', 'redirect_uris'] as const).filter((key) => errors[key]).map((key) => ({ fieldId: `new-app-${key}`, message: errors[key] ?? '' }));
  const urisError = errors.redirect_uris;
  return (
    <section className="card" aria-labelledby="create-app-heading">
      <h2 id="create-app-heading">Register an app</h2>
      <p className="hint">An app that signs its users in with Gatehouse (OpenID Connect).</p>
      {items.length > 0 || formError ? <ErrorSummary id="new-app-errors" message={formError} items={items} focusKey={failures} /> : null}
      <form className="account-form" onSubmit={submit} noValidate>
        <Field id="new-app-client_name" label="Name" hint="Shown to people on the sign-in and consent pages." type="text" autoComplete="off" value={name} onChange={setName} error={errors.client_name} />
        <div className={`field${urisError ? ' field--invalid' : ''}`}>
          <label htmlFor="new-app-redirect_uris" className="label">
            Redirect URIs
          </label>
          <p className="hint" id="new-app-redirect_uris-hint">
            One a line, absolute, e.g. https://app.example.com/callback. A sign-in request must name one of them exactly.
          </p>
          {urisError ? (
            <p className="field-error" id="new-app-redirect_uris-error">
              <span className="visually-hidden">Error: </span>
              {urisError}
            </p>
          ) : null}
          <textarea
            id="new-app-redirect_uris"
            name="redirect_uris"
            rows={3}
            value={uris}
            onChange={(event) => setUris(event.target.value)}
            spellCheck={false}
            autoCapitalize="none"
            aria-invalid={urisError ? true : undefined}
            aria-describedby={`new-app-redirect_uris-hint${urisError ? ' new-app-redirect_uris-error' : ''}`}
          />
        </div>
        <div className="check check--field">
          <input id="new-app-public" type="checkbox" checked={isPublic} onChange={(event) => setIsPublic(event.target.checked)} aria-describedby="new-app-public-hint" />
          <label htmlFor="new-app-public">Public client</label>
        </div>
        <p className="hint check-hint" id="new-app-public-hint">
          A browser app or a command-line tool, which cannot keep a secret: no secret, PKCE only.
        </p>
        <div className="check check--field">
          <input id="new-app-first-party" type="checkbox" checked={firstParty} onChange={(event) => setFirstParty(event.target.checked)} aria-describedby="new-app-first-party-hint" />
          <label htmlFor="new-app-first-party">First-party app</label>
        </div>
        <p className="hint check-hint" id="new-app-first-party-hint">
          Your own app: people are never asked to consent.
        </p>
        <button type="submit" className="button" aria-disabled={pending || undefined}>
          {pending ? 'Registering…' : 'Register app'}
        </button>
      </form>
    </section>
  );
}

/** The secret of a new confidential client, shown this once, with a clear warning. */
function NewSecret({ created, onDone }: { created: NewOidcClient; onDone: () => void }) {
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    heading.current?.focus();
  }, []);
  return (
    <section className="card secret-box" aria-labelledby="new-secret-heading">
      <h2 id="new-secret-heading" ref={heading} tabIndex={-1}>
        Registered “{created.client_name}”
      </h2>
      <dl className="signin__details">
        <dt>Client id</dt>
        <dd>
          <code className="secret">{created.client_id}</code>
        </dd>
        {created.client_secret ? (
          <>
            <dt>Client secret</dt>
            <dd>
              <code className="secret" id="new-secret-value">
                {created.client_secret}
              </code>
            </dd>
          </>
        ) : null}
      </dl>
      {created.client_secret ? (
        <p className="secret-box__warning">
          <strong>Copy the secret now and keep it safe.</strong> This is the only time it is shown: Gatehouse stores only a hash of it. If it is lost, delete the app and register it again.
        </p>
      ) : (
        <p>A public client has no secret: it proves itself with PKCE.</p>
      )}
      <button type="button" className="button button--secondary" onClick={onDone}>
        {created.client_secret ? 'I have copied the secret' : 'Done'}
      </button>
    </section>
  );
}

function AppRow({ app, onDelete }: { app: OidcClient; onDelete: () => Promise<void> }) {
  const rowId = `app-${app.client_id.replace(/[^A-Za-z0-9_-]/g, '_')}`;
  return (
    <div className="signin">
      <div className="signin__head">
        <h3 className="signin__title">{app.client_name}</h3>
        {app.first_party ? <span className="badge">First-party</span> : null}
        {app.token_endpoint_auth_method === 'none' ? <span className="badge">Public</span> : null}
      </div>
      <dl className="signin__details">
        <dt>Client id</dt>
        <dd>
          <code>{app.client_id}</code>
        </dd>
        <dt>Redirect URIs</dt>
        <dd>
          <ul className="plain-list">
            {app.redirect_uris.map((uri) => (
              <li key={uri}>{uri}</li>
            ))}
          </ul>
        </dd>
        <dt>Registered</dt>
        <dd>
          <time dateTime={app.created_at}>{formatTime(app.created_at)}</time>
        </dd>
      </dl>
      <ConfirmAction
        id={rowId}
        label="Delete"
        hiddenLabel={app.client_name}
        question={`Delete the app “${app.client_name}”? Everyone signed in to it through Gatehouse is signed out, and it can no longer sign anyone in.`}
        confirmLabel="Yes, delete the app"
        pendingLabel="Deleting…"
        purpose={`delete the app “${app.client_name}”`}
        onConfirm={onDelete}
      />
    </div>
  );
}

/** /admin/apps: the apps registered with the OpenID Connect provider. */
export function AdminAppsPage() {
  useDocumentTitle('Apps · Admin');
  const { query } = useLocation();
  const page = pageNumber(query.get('page'));
  const { resource, reload, update } = useResource(`admin-apps-${page}`, (signal) => listOidcClients({ page, limit: APPS_PAGE_SIZE }, signal));
  const [created, setCreated] = useState<NewOidcClient | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const summary = useRef<HTMLParagraphElement>(null);
  const focusSummary = useRef(false);

  useEffect(() => {
    if (!focusSummary.current) return;
    focusSummary.current = false;
    summary.current?.focus();
  });

  function onCreated(app: NewOidcClient) {
    setMessage(null);
    setCreated(app);
    reload();
  }

  async function remove(app: OidcClient) {
    try {
      await deleteOidcClient(app.client_id);
      setMessage(`Deleted the app “${app.client_name}”.`);
    } catch (caught) {
      if (!(caught instanceof ApiError && caught.status === 404)) throw caught;
      setMessage(`The app “${app.client_name}” had already been deleted.`);
    }
    if (created?.client_id === app.client_id) setCreated(null);
    focusSummary.current = true;
    update((data) => (data ? { ...data, total: data.total - 1, items: data.items.filter((item) => item.client_id !== app.client_id) } : data));
  }

  if (resource.status === 'ready' && resource.data === null) {
    return (
      <>
        <h1 tabIndex={-1}>Apps</h1>
        <AdminNav />
        <p>This server has no OpenID Connect provider (OIDC_ENABLED=false), so no apps can be registered.</p>
      </>
    );
  }

  const data = resource.status === 'ready' ? resource.data : null;
  const total = data?.total ?? 0;
  return (
    <>
      <h1 tabIndex={-1}>Apps</h1>
      <AdminNav />
      {created ? (
        <NewSecret
          created={created}
          onDone={() => {
            setCreated(null);
            focusSummary.current = true;
          }}
        />
      ) : null}
      <section className="card" aria-labelledby="apps-list-heading">
        <h2 id="apps-list-heading">Registered apps</h2>
        <div role="status" className="announcer">
          {message ? <p className="notice">{message}</p> : null}
        </div>
        {resource.status === 'loading' ? <Loading>Loading the apps…</Loading> : null}
        {resource.status === 'error' ? <ErrorMessage error={resource.error} title="Could not load the apps." onRetry={reload} /> : null}
        {data ? (
          <>
            <p className="summary" ref={summary} tabIndex={-1}>
              {total === 0 ? 'No apps are registered.' : `${total} ${total === 1 ? 'app is' : 'apps are'} registered.`}
            </p>
            {data.items.length > 0 ? (
              <ul className="rows" aria-labelledby="apps-list-heading">
                {data.items.map((app) => (
                  <li key={app.client_id}>
                    <AppRow app={app} onDelete={() => remove(app)} />
                  </li>
                ))}
              </ul>
            ) : null}
            <Pagination page={page} pageCount={Math.max(1, Math.ceil(total / APPS_PAGE_SIZE))} hrefFor={(n) => hrefWithQuery('/admin/apps', { page: n })} onNavigate={() => (focusSummary.current = true)} />
          </>
        ) : null}
      </section>
      <CreateAppForm onCreated={onCreated} />
    </>
  );
}
