import { useEffect, useRef, useState } from 'react';
import type { FormEvent } from 'react';
import { ErrorSummary } from '../../components/ErrorSummary';
import { Field } from '../../components/Field';
import { ApiError, errorMessage } from '../../lib/api';
import { deleteAccount } from './api';

type Step = 'start' | 'confirm' | 'password';

export interface DeleteAccountSectionProps {
  username: string;
  /** Whether the password step shows errors (the page's title then starts with "Error:"). */
  onErrors: (shown: boolean) => void;
}

/** Where the browser goes once the account is gone: the session ended with it. */
function leave(): void {
  window.location.assign('/login');
}

/**
 * Delete the account (DELETE /api/me), after an explicit "Yes, delete my account". Without a recent
 * sign-in the server answers 403 reauthentication_required: the section then asks for the password
 * and sends the same request with it as `current_password`.
 */
export function DeleteAccountSection({ username, onErrors }: DeleteAccountSectionProps) {
  const [step, setStep] = useState<Step>('start');
  const [pending, setPending] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [password, setPassword] = useState('');
  const [passwordError, setPasswordError] = useState<string | null>(null);
  const [failures, setFailures] = useState(0);
  const startButton = useRef<HTMLButtonElement>(null);
  const confirmButton = useRef<HTMLButtonElement>(null);
  const passwordInput = useRef<HTMLInputElement>(null);
  const previousStep = useRef<Step>(step);

  useEffect(() => {
    if (step === 'confirm') confirmButton.current?.focus();
    if (step === 'password') passwordInput.current?.focus();
    if (step === 'start' && previousStep.current !== 'start') startButton.current?.focus();
    previousStep.current = step;
  }, [step]);

  function cancel() {
    setError(null);
    setPassword('');
    setPasswordError(null);
    onErrors(false);
    setStep('start');
  }

  /** One attempt; `currentPassword` only on the password step. */
  async function attempt(currentPassword?: string) {
    if (pending) return;
    setPending(true);
    setError(null);
    try {
      await deleteAccount(currentPassword);
      leave();
      return;
    } catch (caught) {
      setPending(false);
      if (caught instanceof ApiError && caught.status === 401) return;
      if (caught instanceof ApiError && caught.code === 'reauthentication_required') {
        setStep('password');
        return;
      }
      if (currentPassword !== undefined) {
        const fieldError = caught instanceof ApiError ? caught.fields?.current_password : undefined;
        setPasswordError(fieldError ?? null);
        setError(fieldError ? null : errorMessage(caught));
        setFailures((n) => n + 1);
        onErrors(true);
        return;
      }
      // 409 last_admin and the like: the server's own words.
      setError(errorMessage(caught));
    }
  }

  function submitPassword(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    if (pending) return;
    if (!password) {
      setPasswordError('Enter your password.');
      setError(null);
      setFailures((n) => n + 1);
      onErrors(true);
      return;
    }
    void attempt(password);
  }

  return (
    <section className="card card--danger" aria-labelledby="delete-heading">
      <h2 id="delete-heading">Delete account</h2>
      <p>
        Deleting your account ends every session and token login and deletes everything you own: your bucketlists and their items. Your username and email become free for
        anyone to use. This cannot be undone.
      </p>

      {step === 'start' ? (
        <p>
          <button ref={startButton} type="button" className="button button--danger" onClick={() => setStep('confirm')}>
            Delete my account
          </button>
        </p>
      ) : null}

      {step === 'confirm' ? (
        <div className="confirm" role="group" aria-labelledby="delete-question">
          <p id="delete-question" className="row__question">
            Delete the account “{username}” and everything in it? This cannot be undone.
          </p>
          <div className="row__actions">
            <button ref={confirmButton} type="button" className="button button--danger" onClick={() => void attempt()} aria-disabled={pending || undefined}>
              {pending ? 'Deleting…' : 'Yes, delete my account'}
            </button>
            <button type="button" className="button button--secondary" onClick={() => !pending && cancel()} aria-disabled={pending || undefined}>
              Cancel
            </button>
          </div>
        </div>
      ) : null}

      {step === 'password' ? (
        <div className="confirm">
          <p className="row__question">Confirm it is you: enter your password to delete the account “{username}”.</p>
          {passwordError || error ? (
            <ErrorSummary id="delete-errors" message={error} items={passwordError ? [{ fieldId: 'delete-password', message: passwordError }] : []} focusKey={failures} />
          ) : null}
          <form className="account-form" onSubmit={submitPassword} noValidate>
            <Field
              id="delete-password"
              label="Your password"
              type="password"
              autoComplete="current-password"
              value={password}
              onChange={setPassword}
              error={passwordError ?? undefined}
              inputRef={passwordInput}
            />
            <div className="row__actions">
              <button type="submit" className="button button--danger" aria-disabled={pending || undefined}>
                {pending ? 'Deleting…' : 'Delete my account for good'}
              </button>
              <button type="button" className="button button--secondary" onClick={() => !pending && cancel()} aria-disabled={pending || undefined}>
                Cancel
              </button>
            </div>
          </form>
        </div>
      ) : null}

      {error && step !== 'password' ? (
        <div className="error-box" role="alert">
          <p className="error-box__title">Your account was not deleted.</p>
          <p>{error}</p>
        </div>
      ) : null}
    </section>
  );
}
