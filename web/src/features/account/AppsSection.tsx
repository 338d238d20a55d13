import { useEffect, useRef, useState } from 'react';
import { ConfirmAction } from '../../components/ConfirmAction';
import { ErrorMessage, Loading } from '../../components/Status';
import { ApiError } from '../../lib/api';
import { useResource } from '../../lib/use-resource';
import type { AuthorisedApp } from './apps-api';
import { listAuthorisedApps, removeAuthorisedApp } from './apps-api';
import { formatTime } from './describe';

/** What each scope lets an app see, as the consent page says it. */
const SCOPE_TEXT: Record<string, string> = {
  openid: 'who you are on Gatehouse',
  profile: 'your username',
  email: 'your email address',
  offline_access: 'stay connected when you are not using it',
};

function scopeList(scopes: string[]): string {
  return scopes.map((scope) => SCOPE_TEXT[scope] ?? scope).join(', ');
}

interface AppRowProps {
  app: AuthorisedApp;
  onRemove: () => Promise<void>;
}

/** One app: its name, what it may see, since when; "Remove" after an inline "are you sure?". */
function AppRow({ app, onRemove }: AppRowProps) {
  const rowId = `app-${app.client_id.replace(/[^A-Za-z0-9_-]/g, '_')}`;
  return (
    <div className="signin">
      <h3 id={`${rowId}-title`} className="signin__title">
        {app.client_name}
      </h3>
      <dl className="signin__details">
        <dt>May see</dt>
        <dd>{scopeList(app.scopes)}</dd>
        <dt>Since</dt>
        <dd>
          <time dateTime={app.created_at}>{formatTime(app.created_at)}</time>
        </dd>
      </dl>
      <ConfirmAction
        id={rowId}
        label="Remove"
        hiddenLabel={app.client_name}
        question={`Remove ${app.client_name}? It is signed out at once and must ask you again before it can use your account.`}
        confirmLabel="Yes, remove"
        pendingLabel="Removing…"
        purpose="remove the app"
        onConfirm={onRemove}
      />
    </div>
  );
}

/**
 * "Apps you let in": the apps that sign in with Gatehouse (OpenID Connect) and what each may see
 * (GET /api/me/oidc/grants). Removing one ends its tokens at once. Hidden when the server has no
 * OpenID Connect provider.
 */
export function AppsSection() {
  const { resource, reload, update } = useResource('authorised-apps', (signal) => listAuthorisedApps(signal));
  const [message, setMessage] = useState<string | null>(null);
  const summary = useRef<HTMLParagraphElement>(null);
  const focusSummary = useRef(false);

  useEffect(() => {
    if (!focusSummary.current) return;
    focusSummary.current = false;
    summary.current?.focus();
  });

  if (resource.status === 'ready' && resource.data === null) return null;

  async function remove(app: AuthorisedApp) {
    try {
      await removeAuthorisedApp(app.client_id);
      setMessage(`Removed ${app.client_name}.`);
    } catch (caught) {
      if (!(caught instanceof ApiError && caught.status === 404)) throw caught;
      setMessage(`${app.client_name} had already been removed.`);
    }
    focusSummary.current = true;
    update((apps) => apps?.filter((item) => item.client_id !== app.client_id) ?? null);
  }

  const apps = resource.status === 'ready' ? (resource.data ?? []) : [];
  return (
    <section className="card" aria-labelledby="apps-heading">
      <h2 id="apps-heading">Apps you let in</h2>
      <p className="hint">Apps that sign you in with your Gatehouse account. Remove any you no longer use.</p>
      <div role="status" className="announcer">
        {message ? <p className="notice">{message}</p> : null}
      </div>
      {resource.status === 'loading' ? <Loading>Loading your apps…</Loading> : null}
      {resource.status === 'error' ? <ErrorMessage error={resource.error} title="Could not load your apps." onRetry={reload} /> : null}
      {resource.status === 'ready' ? (
        <>
          <p className="summary" ref={summary} tabIndex={-1}>
            {apps.length === 0 ? 'No app signs in with your account.' : `${apps.length} ${apps.length === 1 ? 'app signs' : 'apps sign'} in with your account.`}
          </p>
          {apps.length > 0 ? (
            <ul className="rows" aria-labelledby="apps-heading">
              {apps.map((app) => (
                <li key={app.client_id}>
                  <AppRow app={app} onRemove={() => remove(app)} />
                </li>
              ))}
            </ul>
          ) : null}
        </>
      ) : null}
    </section>
  );
}
