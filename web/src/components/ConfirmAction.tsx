import { useEffect, useRef, useState } from 'react';
import { VisuallyHidden } from './Status';
import { ApiError, errorMessage } from '../lib/api';
import { PasswordStep } from './PasswordStep';

type Step = 'start' | 'confirm' | 'password';

export interface ConfirmActionProps {
  /** Unique on the page: the base of the question's and the password step's ids. */
  id: string;
  /** The button that starts it, e.g. "Disable". */
  label: string;
  /** Said to screen readers after the label, e.g. the user's name. */
  hiddenLabel?: string;
  /** The inline "are you sure?", e.g. "Disable “ann”? …". */
  question: string;
  confirmLabel: string;
  pendingLabel: string;
  /** What the password step says it is for, e.g. "delete the user “ann”". */
  purpose: string;
  /** A red start button (deleting), otherwise a secondary one. */
  danger?: boolean;
  /**
   * Does it. Called once without a password; when the server answers 403
   * reauthentication_required, the password is asked for and it is called again with it.
   */
  onConfirm: (currentPassword?: string) => Promise<void>;
}

/**
 * A destructive action behind an inline confirmation (the admin console's actions, and removing
 * an app on the account page): the start button, then the question with "Yes, …" (focused) and
 * Cancel. Where the sign-in is not recent and the server asks for the password (403
 * reauthentication_required), the password step, then the same request again with it.
 * After success the page announces the outcome and moves focus itself.
 */
export function ConfirmAction({ id, label, hiddenLabel, question, confirmLabel, pendingLabel, purpose, danger = false, onConfirm }: ConfirmActionProps) {
  const [step, setStep] = useState<Step>('start');
  const [pending, setPending] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [password, setPassword] = useState('');
  const [passwordError, setPasswordError] = useState<string | null>(null);
  const [failures, setFailures] = useState(0);
  const startButton = useRef<HTMLButtonElement>(null);
  const confirmButton = useRef<HTMLButtonElement>(null);
  const returnFocus = useRef(false);

  useEffect(() => {
    if (step === 'confirm') confirmButton.current?.focus();
    if (step === 'start' && returnFocus.current) {
      returnFocus.current = false;
      startButton.current?.focus();
    }
  }, [step]);

  function reset() {
    setError(null);
    setPassword('');
    setPasswordError(null);
  }

  function cancel() {
    if (pending) return;
    reset();
    returnFocus.current = true;
    setStep('start');
  }

  async function attempt(currentPassword?: string) {
    if (pending) return;
    setPending(true);
    setError(null);
    try {
      await onConfirm(currentPassword);
      setPending(false);
      reset();
      setStep('start');
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
        return;
      }
      setError(errorMessage(caught));
    }
  }

  function submitPassword() {
    if (!password) {
      setPasswordError('Enter your password.');
      setError(null);
      setFailures((n) => n + 1);
      return;
    }
    void attempt(password);
  }

  if (step === 'password') {
    return (
      <PasswordStep
        id={`${id}-reauth`}
        question={`Confirm it is you: enter your password to ${purpose}.`}
        submitLabel={pending ? pendingLabel : confirmLabel}
        pending={pending}
        password={password}
        onPasswordChange={setPassword}
        passwordError={passwordError}
        error={error}
        failures={failures}
        onSubmit={submitPassword}
        onCancel={cancel}
      />
    );
  }

  if (step === 'confirm') {
    return (
      <div className="confirm" role="group" aria-labelledby={`${id}-question`}>
        <p id={`${id}-question`} className="row__question">
          {question}
        </p>
        <div className="row__actions">
          <button ref={confirmButton} type="button" className="button button--danger" onClick={() => void attempt()} aria-disabled={pending || undefined}>
            {pending ? pendingLabel : confirmLabel}
          </button>
          <button type="button" className="button button--secondary" onClick={cancel} aria-disabled={pending || undefined}>
            Cancel
          </button>
        </div>
        {error ? (
          <p className="field-error" role="alert">
            Could not {purpose}: {error}
          </p>
        ) : null}
      </div>
    );
  }

  return (
    <button ref={startButton} type="button" className={danger ? 'button button--danger' : 'button button--secondary'} onClick={() => setStep('confirm')}>
      {label}
      {hiddenLabel ? <VisuallyHidden> {hiddenLabel}</VisuallyHidden> : null}
    </button>
  );
}
