import { useEffect, useRef, useState } from 'react';
import { VisuallyHidden } from '../../components/Status';
import { ApiError, errorMessage } from '../../lib/api';
import type { SignIn } from './api';
import { formatTime, signInTitle } from './describe';

export interface SignInRowProps {
  signIn: SignIn;
  /** Ends the sign-in (DELETE /api/me/sessions/:id); the list then drops the row. */
  onSignOut: () => Promise<void>;
}

/** The id-safe form of a public session id, for the row's element ids. */
function domId(id: string): string {
  return `signin-${id.replace(/[^A-Za-z0-9_-]/g, '_')}`;
}

/**
 * One browser session or token login: what it is, when it began and was last used, from where.
 * Any but this device's can be signed out, after an inline "are you sure?".
 */
export function SignInRow({ signIn, onSignOut }: SignInRowProps) {
  const [confirming, setConfirming] = useState(false);
  const [pending, setPending] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const signOutButton = useRef<HTMLButtonElement>(null);
  const confirmButton = useRef<HTMLButtonElement>(null);
  const returnFocus = useRef(false);
  const rowId = domId(signIn.id);
  const title = signInTitle(signIn);
  const created = formatTime(signIn.created_at);
  const lastSeen = formatTime(signIn.last_seen_at);

  useEffect(() => {
    if (confirming) confirmButton.current?.focus();
    else if (returnFocus.current) {
      returnFocus.current = false;
      signOutButton.current?.focus();
    }
  }, [confirming]);

  function cancel() {
    returnFocus.current = true;
    setError(null);
    setConfirming(false);
  }

  async function confirm() {
    if (pending) return;
    setPending(true);
    setError(null);
    try {
      await onSignOut();
    } catch (caught) {
      setPending(false);
      if (caught instanceof ApiError && caught.status === 401) return;
      setError(errorMessage(caught));
    }
  }

  return (
    <div className="signin">
      <div className="signin__head">
        <h3 id={`${rowId}-title`} className="signin__title">
          {title}
        </h3>
        {signIn.current ? <span className="badge">This device</span> : null}
      </div>
      <dl className="signin__details">
        <dt>Signed in</dt>
        <dd>
          <time dateTime={signIn.created_at}>{created}</time>
        </dd>
        <dt>Last active</dt>
        <dd>
          <time dateTime={signIn.last_seen_at}>{lastSeen}</time>
        </dd>
        <dt>IP address</dt>
        <dd>{signIn.ip ?? 'Unknown'}</dd>
        <dt>User agent</dt>
        <dd className="signin__agent">{signIn.user_agent ?? 'Unknown'}</dd>
      </dl>
      {signIn.current ? (
        <p className="hint">This is the browser you are using now. To end it, use Log out.</p>
      ) : confirming ? (
        <div className="confirm" role="group" aria-labelledby={`${rowId}-question`}>
          <p id={`${rowId}-question`} className="row__question">
            Sign out this {signIn.kind === 'browser' ? 'browser session' : 'token login'} (signed in {created})? It will have to log in again.
          </p>
          <div className="row__actions">
            <button ref={confirmButton} type="button" className="button button--danger" onClick={confirm} aria-disabled={pending || undefined}>
              {pending ? 'Signing out…' : 'Yes, sign out'}
            </button>
            <button type="button" className="button button--secondary" onClick={() => !pending && cancel()} aria-disabled={pending || undefined}>
              Cancel
            </button>
          </div>
          {error ? (
            <p className="field-error" role="alert">
              Could not sign out: {error}
            </p>
          ) : null}
        </div>
      ) : (
        <div className="row__actions">
          <button ref={signOutButton} type="button" className="button button--secondary button--small" onClick={() => setConfirming(true)}>
            Sign out
            <VisuallyHidden>
              {' '}
              {title}, signed in {created}
            </VisuallyHidden>
          </button>
        </div>
      )}
    </div>
  );
}
