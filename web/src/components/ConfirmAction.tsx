import { useEffect, useRef } from 'react';
import { useReauthAction } from '../lib/use-reauth-action';
import { PasswordStep } from './PasswordStep';
import { VisuallyHidden } from './Status';

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
  const action = useReauthAction(onConfirm);
  const { step, pending, error } = action;
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

  function cancel() {
    if (pending) return;
    returnFocus.current = true;
    action.reset();
  }

  async function attempt(currentPassword?: string) {
    if (await action.attempt(currentPassword)) action.reset();
  }

  async function submitPassword() {
    if (await action.submitPassword()) action.reset();
  }

  if (step === 'password') {
    return (
      <PasswordStep
        id={`${id}-reauth`}
        question={`Confirm it is you: enter your password to ${purpose}.`}
        submitLabel={pending ? pendingLabel : confirmLabel}
        pending={pending}
        password={action.password}
        onPasswordChange={action.setPassword}
        passwordError={action.passwordError}
        error={error}
        failures={action.failures}
        onSubmit={() => void submitPassword()}
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
    <button ref={startButton} type="button" className={danger ? 'button button--danger' : 'button button--secondary'} onClick={() => action.setStep('confirm')}>
      {label}
      {hiddenLabel ? <VisuallyHidden> {hiddenLabel}</VisuallyHidden> : null}
    </button>
  );
}
