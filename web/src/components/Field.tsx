import type { ChangeEvent, Ref } from 'react';

export interface FieldProps {
  /** Unique on the page: the input's id, and the base of its hint's and error's ids. */
  id: string;
  label: string;
  type: 'text' | 'password' | 'email';
  autoComplete: string;
  value: string;
  onChange: (value: string) => void;
  hint?: string;
  error?: string | undefined;
  inputRef?: Ref<HTMLInputElement>;
}

/**
 * One labelled input, as the server's forms render it (src/server/pages/auth-pages.ts): the hint
 * and the error are tied to it with aria-describedby, and the error comes before the input so a
 * screen reader reading down meets it first.
 */
export function Field({ id, label, type, autoComplete, value, onChange, hint, error, inputRef }: FieldProps) {
  const hintId = `${id}-hint`;
  const errorId = `${id}-error`;
  const describedBy = [hint ? hintId : '', error ? errorId : ''].filter(Boolean).join(' ');
  return (
    <div className={`field${error ? ' field--invalid' : ''}`}>
      <label htmlFor={id} className="label">
        {label}
      </label>
      {hint ? (
        <p className="hint" id={hintId}>
          {hint}
        </p>
      ) : null}
      {error ? (
        <p className="field-error" id={errorId}>
          <span className="visually-hidden">Error: </span>
          {error}
        </p>
      ) : null}
      <input
        ref={inputRef}
        id={id}
        name={id}
        type={type}
        autoComplete={autoComplete}
        value={value}
        required
        aria-invalid={error ? true : undefined}
        aria-describedby={describedBy || undefined}
        onChange={(event: ChangeEvent<HTMLInputElement>) => onChange(event.target.value)}
        {...(type === 'text' ? { autoCapitalize: 'none', spellCheck: false } : {})}
      />
    </div>
  );
}
