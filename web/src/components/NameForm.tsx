import { useEffect, useRef, useState } from 'react';
import type { FormEvent, KeyboardEvent } from 'react';
import { ApiError, errorMessage } from '../lib/api';
import { nameProblem } from '../lib/names';

export interface NameFormProps {
  /** Unique on the page: the input's id and the base of its error's id. */
  id: string;
  label: string;
  submitLabel: string;
  pendingLabel: string;
  initialName?: string;
  /** Show the label to screen readers only (inline rename, where the row says what is renamed). */
  hideLabel?: boolean;
  autoFocus?: boolean;
  onSubmit: (name: string) => Promise<void>;
  /** Inline edit forms can be cancelled (also with Escape); the create form cannot. */
  onCancel?: () => void;
}

/** One name field with its button: creating and renaming bucketlists and items. */
export function NameForm({ id, label, submitLabel, pendingLabel, initialName = '', hideLabel, autoFocus, onSubmit, onCancel }: NameFormProps) {
  const [name, setName] = useState(initialName);
  const [pending, setPending] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const input = useRef<HTMLInputElement>(null);

  useEffect(() => {
    if (autoFocus) input.current?.select();
  }, [autoFocus]);

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    if (pending) return;
    const problem = nameProblem(name);
    if (problem) {
      setError(problem);
      input.current?.focus();
      return;
    }
    setPending(true);
    setError(null);
    try {
      await onSubmit(name.trim());
      if (!onCancel) setName('');
      setPending(false);
    } catch (caught) {
      setPending(false);
      if (caught instanceof ApiError && caught.status === 401) return;
      setError(caught instanceof ApiError && caught.fields?.name ? caught.fields.name : errorMessage(caught));
      input.current?.focus();
    }
  }

  function keyDown(event: KeyboardEvent<HTMLFormElement>) {
    if (event.key === 'Escape' && onCancel && !pending) {
      event.preventDefault();
      onCancel();
    }
  }

  const errorId = `${id}-error`;
  return (
    <form className={`name-form${onCancel ? ' name-form--inline' : ''}`} onSubmit={submit} onKeyDown={keyDown} noValidate>
      <label htmlFor={id} className={hideLabel ? 'visually-hidden' : 'label'}>
        {label}
      </label>
      <div className="name-form__row">
        <input
          ref={input}
          id={id}
          name="name"
          type="text"
          value={name}
          autoComplete="off"
          required
          aria-invalid={error ? true : undefined}
          aria-describedby={error ? errorId : undefined}
          onChange={(event) => setName(event.target.value)}
        />
        <button type="submit" className="button" disabled={pending} aria-disabled={pending || undefined}>
          {pending ? pendingLabel : submitLabel}
        </button>
        {onCancel ? (
          <button type="button" className="button button--secondary" onClick={onCancel} disabled={pending}>
            Cancel
          </button>
        ) : null}
      </div>
      {error ? (
        <p className="field-error" id={errorId} role="alert">
          {error}
        </p>
      ) : null}
    </form>
  );
}
