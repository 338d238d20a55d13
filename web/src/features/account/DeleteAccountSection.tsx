import { useEffect, useRef } from 'react';
import type { FormEvent } from 'react';
import { ErrorSummary } from '../../components/ErrorSummary';
import { Field } from '../../components/Field';
import { useReauthAction } from '../../lib/use-reauth-action';
import type { ReauthStep } from '../../lib/use-reauth-action';
import { deleteAccount } from './api';

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
  // On success the browser leaves, so the request stays pending until the next page.
  const action = useReauthAction(async (currentPassword) => {
    await deleteAccount(currentPassword);
    leave();
  }, onErrors);
  const { step, pending, error, password, passwordError, failures } = action;
  const startButton = useRef<HTMLButtonElement>(null);
  const confirmButton = useRef<HTMLButtonElement>(null);
  const passwordInput = useRef<HTMLInputElement>(null);
  const previousStep = useRef<ReauthStep>(step);

  useEffect(() => {
    if (step === 'confirm') confirmButton.current?.focus();
    if (step === 'password') passwordInput.current?.focus();
    if (step === 'start' && previousStep.current !== 'start') startButton.current?.focus();
    previousStep.current = step;
  }, [step]);

  function submitPassword(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    void action.submitPassword();
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
          <button ref={startButton} type="button" className="button button--danger" onClick={() => action.setStep('confirm')}>
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
            <button ref={confirmButton} type="button" className="button button--danger" onClick={() => void action.attempt()} aria-disabled={pending || undefined}>
              {pending ? 'Deleting…' : 'Yes, delete my account'}
            </button>
            <button type="button" className="button button--secondary" onClick={action.cancel} aria-disabled={pending || undefined}>
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
              onChange={action.setPassword}
              error={passwordError ?? undefined}
              inputRef={passwordInput}
            />
            <div className="row__actions">
              <button type="submit" className="button button--danger" aria-disabled={pending || undefined}>
                {pending ? 'Deleting…' : 'Delete my account for good'}
              </button>
              <button type="button" className="button button--secondary" onClick={action.cancel} aria-disabled={pending || undefined}>
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
