import { useState } from 'react';
import type { FormEvent } from 'react';
import { ErrorSummary } from '../../components/ErrorSummary';
import { Field } from '../../components/Field';
import { ApiError, errorMessage } from '../../lib/api';
import { changePassword } from './api';

/** The API's field names, in the form's order, and the inputs they belong to. */
const FIELDS = [
  { name: 'current_password', id: 'current-password' },
  { name: 'password', id: 'new-password' },
  { name: 'password_confirmation', id: 'new-password-confirmation' },
] as const;

type FieldName = (typeof FIELDS)[number]['name'];
type Errors = Partial<Record<FieldName, string>>;

export interface PasswordSectionProps {
  /** The password changed: every other session and token login has ended. */
  onChanged: () => void;
  /** Whether the form shows errors (the page's title then starts with "Error:"). */
  onErrors: (shown: boolean) => void;
}

/**
 * Change the password (POST /api/me/password). The server ends every other session and token
 * login and gives this browser a new session: new cookies, and a new CSRF token that the client
 * reads from the cookie on the next request, so the app keeps working.
 */
export function PasswordSection({ onChanged, onErrors }: PasswordSectionProps) {
  const [values, setValues] = useState<Record<FieldName, string>>({ current_password: '', password: '', password_confirmation: '' });
  const [errors, setErrors] = useState<Errors>({});
  const [formError, setFormError] = useState<string | null>(null);
  const [failures, setFailures] = useState(0);
  const [pending, setPending] = useState(false);
  const [success, setSuccess] = useState<string | null>(null);

  function set(name: FieldName, value: string) {
    setValues((current) => ({ ...current, [name]: value }));
  }

  function fail(fieldErrors: Errors, message: string | null) {
    setErrors(fieldErrors);
    setFormError(message);
    setFailures((n) => n + 1);
    onErrors(true);
  }

  /** The mistakes the server would report too, caught before a round trip. */
  function localErrors(): Errors {
    const found: Errors = {};
    if (!values.current_password) found.current_password = 'Enter your current password.';
    if (!values.password) found.password = 'Enter a new password.';
    if (!values.password_confirmation) found.password_confirmation = 'Repeat the new password.';
    else if (values.password && values.password !== values.password_confirmation) found.password_confirmation = 'Passwords do not match.';
    return found;
  }

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    if (pending) return;
    setSuccess(null);
    const local = localErrors();
    if (Object.keys(local).length > 0) {
      fail(local, null);
      return;
    }
    setPending(true);
    try {
      await changePassword({ ...values });
      setValues({ current_password: '', password: '', password_confirmation: '' });
      setErrors({});
      setFormError(null);
      onErrors(false);
      setSuccess('Your password has been changed. Every other session and token login has ended; this browser stays signed in.');
      onChanged();
    } catch (caught) {
      if (caught instanceof ApiError && caught.status === 401) return;
      const fields: Errors = {};
      let other: string | null = null;
      if (caught instanceof ApiError && caught.fields) {
        for (const [name, message] of Object.entries(caught.fields)) {
          if (FIELDS.some((field) => field.name === name)) fields[name as FieldName] = message;
          else other = message;
        }
      }
      if (Object.keys(fields).length === 0 && !other) other = errorMessage(caught);
      fail(fields, other);
    } finally {
      setPending(false);
    }
  }

  const items = FIELDS.flatMap((field) => (errors[field.name] ? [{ fieldId: field.id, message: errors[field.name] ?? '' }] : []));
  const showSummary = items.length > 0 || formError !== null;

  return (
    <section className="card" aria-labelledby="password-heading">
      <h2 id="password-heading">Change password</h2>
      <p className="hint">Changing your password signs you out everywhere else.</p>
      <div role="status" className="announcer">
        {success ? <p className="notice">{success}</p> : null}
      </div>
      {showSummary ? <ErrorSummary id="password-errors" message={formError} items={items} focusKey={failures} /> : null}
      <form className="account-form" onSubmit={submit} noValidate>
        <Field id="current-password" label="Current password" type="password" autoComplete="current-password" value={values.current_password} onChange={(v) => set('current_password', v)} error={errors.current_password} />
        <Field
          id="new-password"
          label="New password"
          type="password"
          autoComplete="new-password"
          value={values.password}
          onChange={(v) => set('password', v)}
          hint="8 to 72 characters. Avoid common passwords."
          error={errors.password}
        />
        <Field
          id="new-password-confirmation"
          label="Repeat new password"
          type="password"
          autoComplete="new-password"
          value={values.password_confirmation}
          onChange={(v) => set('password_confirmation', v)}
          error={errors.password_confirmation}
        />
        <button type="submit" className="button" aria-disabled={pending || undefined}>
          {pending ? 'Changing…' : 'Change password'}
        </button>
      </form>
    </section>
  );
}
