import { useEffect, useRef, useState } from 'react';
import type { FormEvent } from 'react';
import { ErrorSummary } from '../../components/ErrorSummary';
import { Field } from '../../components/Field';
import { ApiError, errorMessage } from '../../lib/api';
import type { User } from '../../lib/types';
import { changeEmail, removeEmail } from './api';
import { PasswordStep } from '../../components/PasswordStep';
import { ResendVerification } from './ResendVerification';

type Action = { kind: 'change'; email: string } | { kind: 'remove' };
type Step = 'start' | 'confirm-remove' | 'password';

export interface EmailSectionProps {
  email: string | null;
  verified: boolean;
  /** The server's user after a change here (the address removed). */
  onUserChanged: (user: User) => void;
  /** Whether the section shows errors (the page's title then starts with "Error:"). */
  onErrors: (shown: boolean) => void;
}

/**
 * The account's email address: whether it is verified (and a new verification link), changing it
 * (POST /api/me/email: a link goes to the new address, which becomes the account's when opened) and
 * removing it after a confirmation. Both are *recent*: on 403 reauthentication_required the section
 * asks for the password and sends the same request again with it, as DeleteAccountSection does.
 */
export function EmailSection({ email, verified, onUserChanged, onErrors }: EmailSectionProps) {
  const [step, setStep] = useState<Step>('start');
  const [action, setAction] = useState<Action | null>(null);
  const [newEmail, setNewEmail] = useState('');
  const [emailError, setEmailError] = useState<string | null>(null);
  const [formError, setFormError] = useState<string | null>(null);
  const [removeError, setRemoveError] = useState<string | null>(null);
  const [password, setPassword] = useState('');
  const [passwordError, setPasswordError] = useState<string | null>(null);
  const [stepError, setStepError] = useState<string | null>(null);
  const [failures, setFailures] = useState(0);
  const [pending, setPending] = useState(false);
  const [message, setMessage] = useState<string | null>(null);
  const summary = useRef<HTMLParagraphElement>(null);
  const changeButton = useRef<HTMLButtonElement>(null);
  const removeButton = useRef<HTMLButtonElement>(null);
  const confirmRemoveButton = useRef<HTMLButtonElement>(null);
  const focusAfter = useRef<'summary' | 'change' | 'remove' | null>(null);

  useEffect(() => {
    if (step === 'confirm-remove') confirmRemoveButton.current?.focus();
  }, [step]);

  useEffect(() => {
    if (focusAfter.current) ({ summary, change: changeButton, remove: removeButton })[focusAfter.current].current?.focus();
    focusAfter.current = null;
  });

  function failed(shown: { email?: string | null; form?: string | null; password?: string | null; step?: string | null }) {
    setEmailError(shown.email ?? null);
    setFormError(shown.form ?? null);
    setPasswordError(shown.password ?? null);
    setStepError(shown.step ?? null);
    setFailures((n) => n + 1);
    onErrors(true);
  }

  function clearErrors() {
    setEmailError(null);
    setFormError(null);
    setPasswordError(null);
    setStepError(null);
    setRemoveError(null);
    onErrors(false);
  }

  /** Back to the start; `focus`: what takes focus once the step is gone. */
  function reset(focus: 'summary' | 'change' | 'remove' | null) {
    focusAfter.current = focus;
    setPassword('');
    setAction(null);
    setStep('start');
  }

  /** One attempt; `currentPassword` only on the password step. */
  async function run(next: Action, currentPassword?: string) {
    if (pending) return;
    setPending(true);
    setMessage(null);
    setRemoveError(null);
    try {
      if (next.kind === 'change') {
        const { pending_email: pendingEmail } = await changeEmail(next.email, currentPassword);
        setNewEmail('');
        setMessage(`We sent a link to ${pendingEmail}. Your address changes when you open it.`);
      } else {
        onUserChanged(await removeEmail(currentPassword));
        setMessage('Your email address has been removed.');
      }
      clearErrors();
      // The button that was pressed is still there only when no step was open.
      if (step !== 'start' || next.kind === 'remove') reset('summary');
    } catch (caught) {
      if (caught instanceof ApiError && caught.status === 401) return;
      if (caught instanceof ApiError && caught.code === 'reauthentication_required') {
        clearErrors();
        setAction(next);
        setStep('password');
        return;
      }
      const fields = caught instanceof ApiError ? caught.fields : undefined;
      if (next.kind === 'change' && fields?.email) {
        // The address itself (taken, invalid, already yours): shown at the field, the step closed.
        reset(null);
        failed({ email: fields.email });
      } else if (currentPassword !== undefined && !fields?.email) {
        failed({ password: fields?.current_password ?? null, step: fields?.current_password ? null : errorMessage(caught) });
      } else if (next.kind === 'change') {
        failed({ form: errorMessage(caught) });
      } else {
        // 422 while REQUIRE_EMAIL_VERIFICATION is on, and the like: the server's own words.
        clearErrors();
        reset('remove');
        setRemoveError(fields?.email ?? errorMessage(caught));
      }
    } finally {
      setPending(false);
    }
  }

  function submitChange(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    if (pending) return;
    setMessage(null);
    const address = newEmail.trim();
    if (!address) failed({ email: email ? 'Enter the new email address.' : 'Enter an email address.' });
    else void run({ kind: 'change', email: address });
  }

  function submitPassword() {
    if (!action) return;
    if (!password) failed({ password: 'Enter your password.' });
    else void run(action, password);
  }

  function cancel() {
    clearErrors();
    reset(action?.kind === 'remove' || step === 'confirm-remove' ? 'remove' : 'change');
  }

  const changeLabel = email ? 'Change email address' : 'Add email address';

  return (
    <section className="card" aria-labelledby="email-heading">
      <h2 id="email-heading">Email address</h2>
      <div role="status" className="announcer">
        {message ? <p className="notice">{message}</p> : null}
      </div>
      <p className="summary" ref={summary} tabIndex={-1}>
        {email ? (
          <>
            Your email address is <strong>{email}</strong>. <span className="badge">{verified ? 'Verified' : 'Not verified'}</span>
          </>
        ) : (
          'Your account has no email address. Add one to be able to reset a forgotten password.'
        )}
      </p>
      {email && !verified ? <ResendVerification key={email} email={email} /> : null}

      {step === 'password' && action ? (
        <PasswordStep
          id="email"
          question={action.kind === 'change' ? `Confirm it is you: enter your password to change your email address to ${action.email}.` : 'Confirm it is you: enter your password to remove your email address.'}
          submitLabel={pending ? 'Saving…' : action.kind === 'change' ? changeLabel : 'Remove address'}
          pending={pending}
          password={password}
          onPasswordChange={setPassword}
          passwordError={passwordError}
          error={stepError}
          failures={failures}
          onSubmit={submitPassword}
          onCancel={cancel}
        />
      ) : null}

      {step === 'start' ? (
        <>
          {emailError || formError ? <ErrorSummary id="email-errors" message={formError} items={emailError ? [{ fieldId: 'new-email', message: emailError }] : []} focusKey={failures} /> : null}
          <form className="account-form" onSubmit={submitChange} noValidate>
            <Field
              id="new-email"
              label={email ? 'New email address' : 'Email address'}
              type="email"
              autoComplete="email"
              value={newEmail}
              onChange={setNewEmail}
              hint="We send a link to the new address; it becomes your address when you open the link."
              error={emailError ?? undefined}
            />
            <button ref={changeButton} type="submit" className="button" aria-disabled={pending || undefined}>
              {pending && !action ? 'Sending…' : changeLabel}
            </button>
          </form>
          {email ? (
            <p>
              <button ref={removeButton} type="button" className="button button--secondary" onClick={() => setStep('confirm-remove')}>
                Remove address
              </button>
            </p>
          ) : null}
        </>
      ) : null}

      {step === 'confirm-remove' && email ? (
        <div className="confirm" role="group" aria-labelledby="email-remove-question">
          <p id="email-remove-question" className="row__question">
            Remove the address {email} from your account? You can then no longer reset a forgotten password by email.
          </p>
          <div className="row__actions">
            <button ref={confirmRemoveButton} type="button" className="button button--danger" onClick={() => void run({ kind: 'remove' })} aria-disabled={pending || undefined}>
              {pending ? 'Removing…' : 'Yes, remove address'}
            </button>
            <button type="button" className="button button--secondary" onClick={() => !pending && cancel()} aria-disabled={pending || undefined}>
              Cancel
            </button>
          </div>
        </div>
      ) : null}

      {removeError ? (
        <div className="error-box" role="alert">
          <p className="error-box__title">Your address was not removed.</p>
          <p>{removeError}</p>
        </div>
      ) : null}
    </section>
  );
}
