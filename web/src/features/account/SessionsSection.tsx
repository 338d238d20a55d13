import { useEffect, useRef, useState } from 'react';
import { ErrorMessage, Loading } from '../../components/Status';
import { ApiError, errorMessage } from '../../lib/api';
import { useResource } from '../../lib/use-resource';
import type { SignIn } from './api';
import { endOtherSignIns, endSignIn, listSignIns } from './api';
import { kindLabel } from './describe';
import { SignInRow } from './SignInRow';

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** "2 browser sessions and 1 token login." */
function summaryText(items: SignIn[]): string {
  const browsers = items.filter((item) => item.kind === 'browser').length;
  const tokens = items.length - browsers;
  const parts = [browsers > 0 ? plural(browsers, 'browser session', 'browser sessions') : '', tokens > 0 ? plural(tokens, 'token login', 'token logins') : ''].filter(Boolean);
  return parts.length > 0 ? `You are signed in with ${parts.join(' and ')}.` : 'No sign-ins to show.';
}

/** This device at the top, the others newest first as the API lists them. */
function thisDeviceFirst(items: SignIn[]): SignIn[] {
  return [...items.filter((item) => item.current), ...items.filter((item) => !item.current)];
}

/**
 * "Where you are signed in": every browser session and token login (GET /api/me/sessions), newest
 * first (this device at the top). Any but this one can be signed out; "Sign out everywhere else" ends all the others.
 * The page mounts it again (a new `key`) when the list changed elsewhere: a password change ends
 * the others.
 */
export function SessionsSection() {
  const { resource, reload, update } = useResource('signins', (signal) => listSignIns(signal));
  const [message, setMessage] = useState<string | null>(null);
  const [confirmingAll, setConfirmingAll] = useState(false);
  const [endingAll, setEndingAll] = useState(false);
  const [allError, setAllError] = useState<string | null>(null);
  const summary = useRef<HTMLParagraphElement>(null);
  const allButton = useRef<HTMLButtonElement>(null);
  const confirmAllButton = useRef<HTMLButtonElement>(null);
  const focusAfter = useRef<'summary' | 'all-button' | null>(null);

  useEffect(() => {
    if (confirmingAll) confirmAllButton.current?.focus();
  }, [confirmingAll]);

  useEffect(() => {
    if (focusAfter.current === 'summary') summary.current?.focus();
    if (focusAfter.current === 'all-button') allButton.current?.focus();
    focusAfter.current = null;
  });

  async function signOut(signIn: SignIn) {
    try {
      await endSignIn(signIn.id);
      setMessage(`Signed out the ${kindLabel(signIn.kind).toLowerCase()} from ${signIn.ip ?? 'an unknown address'}.`);
    } catch (caught) {
      // Already ended (it expired, or was signed out from another tab): gone all the same.
      if (!(caught instanceof ApiError && caught.status === 404)) throw caught;
      setMessage('That session had already ended.');
    }
    focusAfter.current = 'summary';
    update((data) => ({ items: data.items.filter((item) => item.id !== signIn.id) }));
  }

  async function signOutEverywhereElse() {
    if (endingAll) return;
    setEndingAll(true);
    setAllError(null);
    try {
      const { revoked } = await endOtherSignIns();
      setMessage(revoked === 0 ? 'There was nowhere else to sign out.' : `Signed out everywhere else: ${plural(revoked, 'session', 'sessions')} ended.`);
      focusAfter.current = 'summary';
      update((data) => ({ items: data.items.filter((item) => item.current) }));
      setConfirmingAll(false);
    } catch (caught) {
      if (caught instanceof ApiError && caught.status === 401) return;
      setAllError(errorMessage(caught));
    } finally {
      setEndingAll(false);
    }
  }

  function cancelAll() {
    focusAfter.current = 'all-button';
    setAllError(null);
    setConfirmingAll(false);
  }

  const others = resource.status === 'ready' ? resource.data.items.filter((item) => !item.current).length : 0;

  return (
    <section className="card" aria-labelledby="signins-heading">
      <h2 id="signins-heading">Where you are signed in</h2>
      <p className="hint">Every browser and every app or script (token login) signed in to your account. Sign out any you do not recognise, then change your password.</p>

      <div role="status" className="announcer">
        {message ? <p className="notice">{message}</p> : null}
      </div>

      {resource.status === 'loading' ? <Loading>Loading where you are signed in…</Loading> : null}
      {resource.status === 'error' ? <ErrorMessage error={resource.error} title="Could not load where you are signed in." onRetry={reload} /> : null}
      {resource.status === 'ready' ? (
        <>
          <p className="summary" ref={summary} tabIndex={-1}>
            {summaryText(resource.data.items)}
          </p>
          {resource.data.items.length > 0 ? (
            <ul className="rows" aria-labelledby="signins-heading">
              {thisDeviceFirst(resource.data.items).map((signIn) => (
                <li key={signIn.id}>
                  <SignInRow signIn={signIn} onSignOut={() => signOut(signIn)} />
                </li>
              ))}
            </ul>
          ) : null}
          {others > 0 ? (
            confirmingAll ? (
              <div className="confirm" role="group" aria-labelledby="signout-all-question">
                <p id="signout-all-question" className="row__question">
                  Sign out everywhere else ({plural(others, 'other session', 'other sessions')})? Each will have to log in again; this browser stays signed in.
                </p>
                <div className="row__actions">
                  <button ref={confirmAllButton} type="button" className="button button--danger" onClick={signOutEverywhereElse} aria-disabled={endingAll || undefined}>
                    {endingAll ? 'Signing out…' : 'Yes, sign out everywhere else'}
                  </button>
                  <button type="button" className="button button--secondary" onClick={() => !endingAll && cancelAll()} aria-disabled={endingAll || undefined}>
                    Cancel
                  </button>
                </div>
                {allError ? (
                  <p className="field-error" role="alert">
                    Could not sign out: {allError}
                  </p>
                ) : null}
              </div>
            ) : (
              <p>
                <button ref={allButton} type="button" className="button button--secondary" onClick={() => setConfirmingAll(true)}>
                  Sign out everywhere else
                </button>
              </p>
            )
          ) : null}
        </>
      ) : null}
    </section>
  );
}
