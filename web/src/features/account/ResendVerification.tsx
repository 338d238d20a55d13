import { useState } from 'react';
import { ApiError, errorMessage } from '../../lib/api';
import { sendVerificationLink } from './api';

/**
 * An address that is not verified yet: what to do about it, and "Send a new link"
 * (POST /api/me/email/verification), which voids the link sent before.
 */
export function ResendVerification({ email }: { email: string }) {
  const [pending, setPending] = useState(false);
  const [message, setMessage] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);

  async function send() {
    if (pending) return;
    setPending(true);
    setMessage(null);
    setError(null);
    try {
      await sendVerificationLink();
      setMessage(`We sent a new link to ${email}. Open it to confirm your address; earlier links no longer work.`);
    } catch (caught) {
      if (caught instanceof ApiError && caught.status === 401) return;
      setError(errorMessage(caught));
    } finally {
      setPending(false);
    }
  }

  return (
    <div className="confirm">
      <p className="hint">Open the link we mailed to this address to confirm that it is yours. No mail, or the link expired?</p>
      <div role="status" className="announcer">
        {message ? <p className="notice">{message}</p> : null}
      </div>
      <p>
        <button type="button" className="button button--secondary" onClick={() => void send()} aria-disabled={pending || undefined}>
          {pending ? 'Sending…' : 'Send a new link'}
        </button>
      </p>
      {error ? (
        <p className="field-error" role="alert">
          Could not send the link: {error}
        </p>
      ) : null}
    </div>
  );
}
