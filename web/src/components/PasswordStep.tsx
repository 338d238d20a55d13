import { useEffect, useRef } from 'react';
import type { FormEvent } from 'react';
import { ErrorSummary } from './ErrorSummary';
import { Field } from './Field';

export interface PasswordStepProps {
  /** Unique on the page: the base of the input's and the error summary's ids. */
  id: string;
  /** What the password is asked for, e.g. "Confirm it is you: enter your password to …". */
  question: string;
  submitLabel: string;
  pending: boolean;
  password: string;
  onPasswordChange: (value: string) => void;
  /** The message at the field (an empty field, or the server's `fields.current_password`). */
  passwordError: string | null;
  /** A problem with the whole step (429, a network failure…). */
  error: string | null;
  /** Changes with every failed attempt, so the error summary takes focus again. */
  failures: number;
  onSubmit: () => void;
  onCancel: () => void;
}

/**
 * The step a *recent* route asks for after 403 reauthentication_required, as DeleteAccountSection
 * does it: the password, sent again with the same request as `current_password`. The input takes
 * focus when the step opens.
 */
export function PasswordStep({ id, question, submitLabel, pending, password, onPasswordChange, passwordError, error, failures, onSubmit, onCancel }: PasswordStepProps) {
  const input = useRef<HTMLInputElement>(null);
  const fieldId = `${id}-password`;

  useEffect(() => {
    input.current?.focus();
  }, []);

  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    if (!pending) onSubmit();
  }

  return (
    <div className="confirm">
      <p className="row__question">{question}</p>
      {passwordError || error ? <ErrorSummary id={`${id}-errors`} message={error} items={passwordError ? [{ fieldId, message: passwordError }] : []} focusKey={failures} /> : null}
      <form className="account-form" onSubmit={submit} noValidate>
        <Field id={fieldId} label="Your password" type="password" autoComplete="current-password" value={password} onChange={onPasswordChange} error={passwordError ?? undefined} inputRef={input} />
        <div className="row__actions">
          <button type="submit" className="button" aria-disabled={pending || undefined}>
            {submitLabel}
          </button>
          <button type="button" className="button button--secondary" onClick={() => !pending && onCancel()} aria-disabled={pending || undefined}>
            Cancel
          </button>
        </div>
      </form>
    </div>
  );
}
