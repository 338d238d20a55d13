import { useState } from 'react';
import type { FormEvent } from 'react';
import { ApiError, api, call, errorMessage } from '../../lib/api';

/**
 * Log out. Without JavaScript the form is a GET /logout (which ends the session too); with it,
 * DELETE /logout with the CSRF header, then the login page.
 */
export function LogoutButton() {
  const [pending, setPending] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function logout(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    setPending(true);
    setError(null);
    try {
      await call(api.DELETE('/logout'));
      window.location.assign('/login');
    } catch (caught) {
      // Refused (e.g. the CSRF cookie is gone): GET /logout ends the session without needing it.
      if (caught instanceof ApiError && caught.status === 403) {
        window.location.assign('/logout');
        return;
      }
      setPending(false);
      setError(`Could not log out: ${errorMessage(caught)}`);
    }
  }

  return (
    <form className="logout" method="get" action="/logout" onSubmit={logout}>
      <button type="submit" className="button button--secondary button--small" disabled={pending}>
        {pending ? 'Logging out…' : 'Log out'}
      </button>
      {error ? (
        <p className="field-error logout__error" role="alert">
          {error}
        </p>
      ) : null}
    </form>
  );
}
