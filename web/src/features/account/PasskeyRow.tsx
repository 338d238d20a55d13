import { useEffect, useRef, useState } from 'react';
import { NameForm } from '../../components/NameForm';
import { VisuallyHidden } from '../../components/Status';
import { ApiError, errorMessage } from '../../lib/api';
import { formatTime } from './describe';
import type { Passkey } from './passkeys-api';
import { PasswordStep } from '../../components/PasswordStep';

export interface PasskeyRowProps {
  passkey: Passkey;
  onRename: (name: string) => Promise<void>;
  /** Removes it (DELETE, *recent*); rejects with 403 reauthentication_required when the password is needed. */
  onRemove: (currentPassword?: string) => Promise<void>;
}

type Mode = 'view' | 'rename' | 'confirm' | 'password';

/**
 * One passkey: its name, when it was added and last used; Rename (inline) and Remove (an inline
 * "are you sure?", then the password when the sign-in is no longer recent).
 */
export function PasskeyRow({ passkey, onRename, onRemove }: PasskeyRowProps) {
  const [mode, setMode] = useState<Mode>('view');
  const [pending, setPending] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [password, setPassword] = useState('');
  const [passwordError, setPasswordError] = useState<string | null>(null);
  const [failures, setFailures] = useState(0);
  const renameButton = useRef<HTMLButtonElement>(null);
  const removeButton = useRef<HTMLButtonElement>(null);
  const confirmButton = useRef<HTMLButtonElement>(null);
  const returnFocus = useRef<'rename' | 'remove' | null>(null);
  const rowId = `passkey-${passkey.id}`;

  useEffect(() => {
    if (mode === 'confirm') confirmButton.current?.focus();
    if (mode === 'view' && returnFocus.current) {
      (returnFocus.current === 'rename' ? renameButton : removeButton).current?.focus();
      returnFocus.current = null;
    }
  }, [mode]);

  function back(to: 'rename' | 'remove') {
    returnFocus.current = to;
    setError(null);
    setPassword('');
    setPasswordError(null);
    setMode('view');
  }

  async function rename(name: string) {
    await onRename(name);
    back('rename');
  }

  /** One attempt; `currentPassword` only on the password step. On success the list drops the row. */
  async function remove(currentPassword?: string) {
    if (pending) return;
    setPending(true);
    setError(null);
    try {
      await onRemove(currentPassword);
    } catch (caught) {
      setPending(false);
      if (caught instanceof ApiError && caught.status === 401) return;
      if (caught instanceof ApiError && caught.code === 'reauthentication_required') {
        setMode('password');
        return;
      }
      const fieldError = caught instanceof ApiError ? caught.fields?.current_password : undefined;
      setPasswordError(fieldError ?? null);
      setError(fieldError ? null : errorMessage(caught));
      setFailures((n) => n + 1);
    }
  }

  function submitPassword() {
    if (!password) {
      setPasswordError('Enter your password.');
      setError(null);
      setFailures((n) => n + 1);
      return;
    }
    void remove(password);
  }

  if (mode === 'rename') {
    return (
      <div className="row row--editing">
        <NameForm id={`${rowId}-rename`} label={`New name for the passkey “${passkey.name}”`} hideLabel submitLabel="Save" pendingLabel="Saving…" initialName={passkey.name} autoFocus onSubmit={rename} onCancel={() => back('rename')} />
      </div>
    );
  }

  if (mode === 'password') {
    return (
      <div className="row row--confirm">
        <PasswordStep
          id={`${rowId}-remove`}
          question={`Confirm it is you: enter your password to remove the passkey “${passkey.name}”.`}
          submitLabel={pending ? 'Removing…' : 'Remove passkey'}
          pending={pending}
          password={password}
          onPasswordChange={setPassword}
          passwordError={passwordError}
          error={error}
          failures={failures}
          onSubmit={submitPassword}
          onCancel={() => back('remove')}
        />
      </div>
    );
  }

  if (mode === 'confirm') {
    return (
      <div className="row row--confirm" role="group" aria-labelledby={`${rowId}-question`}>
        <p id={`${rowId}-question`} className="row__question">
          Remove the passkey “{passkey.name}”? You will no longer be able to sign in with it.
        </p>
        <div className="row__actions">
          <button ref={confirmButton} type="button" className="button button--danger" onClick={() => void remove()} aria-disabled={pending || undefined}>
            {pending ? 'Removing…' : 'Yes, remove'}
          </button>
          <button type="button" className="button button--secondary" onClick={() => !pending && back('remove')} aria-disabled={pending || undefined}>
            Cancel
          </button>
        </div>
        {error ? (
          <p className="field-error" role="alert">
            Could not remove: {error}
          </p>
        ) : null}
      </div>
    );
  }

  return (
    <div className="row">
      <div className="row__main">
        <p className="passkey__name">{passkey.name}</p>
        <p className="passkey__meta">
          Added {formatTime(passkey.created_at)} · {passkey.last_used_at ? `Last used ${formatTime(passkey.last_used_at)}` : 'Not used yet'}
        </p>
      </div>
      <div className="row__actions">
        <button ref={renameButton} type="button" className="button button--secondary button--small" onClick={() => setMode('rename')}>
          Rename<VisuallyHidden> {passkey.name}</VisuallyHidden>
        </button>
        <button ref={removeButton} type="button" className="button button--secondary button--small" onClick={() => setMode('confirm')}>
          Remove<VisuallyHidden> {passkey.name}</VisuallyHidden>
        </button>
      </div>
    </div>
  );
}
