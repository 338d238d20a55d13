import { useEffect, useRef, useState } from 'react';
import { NameForm } from '../../components/NameForm';
import { VisuallyHidden } from '../../components/Status';
import { useReauthAction } from '../../lib/use-reauth-action';
import { PasswordStep } from '../../components/PasswordStep';
import { formatTime } from './describe';
import type { Passkey } from './passkeys-api';

export interface PasskeyRowProps {
  passkey: Passkey;
  onRename: (name: string) => Promise<void>;
  /** Removes it (DELETE, *recent*); rejects with 403 reauthentication_required when the password is needed. */
  onRemove: (currentPassword?: string) => Promise<void>;
}

/**
 * One passkey: its name, when it was added and last used; Rename (inline) and Remove (an inline
 * "are you sure?", then the password when the sign-in is no longer recent).
 */
export function PasskeyRow({ passkey, onRename, onRemove }: PasskeyRowProps) {
  const [renaming, setRenaming] = useState(false);
  // On success the list drops the row, so a removal never comes back from pending.
  const removal = useReauthAction(onRemove);
  const { pending, error } = removal;
  const mode = renaming ? 'rename' : removal.step === 'start' ? 'view' : removal.step;
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
    if (to === 'remove' && pending) return;
    returnFocus.current = to;
    setRenaming(false);
    removal.reset();
  }

  async function rename(name: string) {
    await onRename(name);
    back('rename');
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
          password={removal.password}
          onPasswordChange={removal.setPassword}
          passwordError={removal.passwordError}
          error={error}
          failures={removal.failures}
          onSubmit={() => void removal.submitPassword()}
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
          <button ref={confirmButton} type="button" className="button button--danger" onClick={() => void removal.attempt()} aria-disabled={pending || undefined}>
            {pending ? 'Removing…' : 'Yes, remove'}
          </button>
          <button type="button" className="button button--secondary" onClick={() => back('remove')} aria-disabled={pending || undefined}>
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
        <button ref={renameButton} type="button" className="button button--secondary button--small" onClick={() => setRenaming(true)}>
          Rename<VisuallyHidden> {passkey.name}</VisuallyHidden>
        </button>
        <button ref={removeButton} type="button" className="button button--secondary button--small" onClick={() => removal.setStep('confirm')}>
          Remove<VisuallyHidden> {passkey.name}</VisuallyHidden>
        </button>
      </div>
    </div>
  );
}
