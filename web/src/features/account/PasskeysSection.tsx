import { browserSupportsWebAuthn } from '@simplewebauthn/browser';
import { useEffect, useRef, useState } from 'react';
import type { FormEvent } from 'react';
import { ErrorMessage, Loading } from '../../components/Status';
import { ApiError, errorMessage } from '../../lib/api';
import { useResource } from '../../lib/use-resource';
import type { Passkey } from './passkeys-api';
import { addPasskey, CeremonyError, listPasskeys, PASSKEY_NAME_MAX, removePasskey, renamePasskey } from './passkeys-api';
import { PasskeyRow } from './PasskeyRow';
import { PasswordStep } from '../../components/PasswordStep';

function summaryText(count: number): string {
  if (count === 0) return 'You have no passkeys yet.';
  return `You have ${count} ${count === 1 ? 'passkey' : 'passkeys'}.`;
}

/** The account page's passkeys, where the browser can use them at all (hidden without WebAuthn). */
export function PasskeysSection() {
  return browserSupportsWebAuthn() ? <Passkeys /> : null;
}

/**
 * Passkeys: the list (GET /api/me/passkeys), adding one with an optional name, renaming and
 * removing. Adding and removing are *recent*: on 403 reauthentication_required the section asks for
 * the password (PasswordStep) and sends the same request again with it, as the other sections do.
 */
function Passkeys() {
  const { resource, reload, update } = useResource('passkeys', (signal) => listPasskeys(signal));
  const [name, setName] = useState('');
  const [nameError, setNameError] = useState<string | null>(null);
  const [addError, setAddError] = useState<string | null>(null);
  const [askPassword, setAskPassword] = useState(false);
  const [password, setPassword] = useState('');
  const [passwordError, setPasswordError] = useState<string | null>(null);
  const [stepError, setStepError] = useState<string | null>(null);
  const [failures, setFailures] = useState(0);
  const [pending, setPending] = useState(false);
  const [message, setMessage] = useState<string | null>(null);
  const summary = useRef<HTMLParagraphElement>(null);
  const addButton = useRef<HTMLButtonElement>(null);
  const nameInput = useRef<HTMLInputElement>(null);
  const focusAfter = useRef<'summary' | 'add' | 'name' | null>(null);

  useEffect(() => {
    if (focusAfter.current) ({ summary, add: addButton, name: nameInput })[focusAfter.current].current?.focus();
    focusAfter.current = null;
  });

  function clearErrors() {
    setNameError(null);
    setAddError(null);
    setPasswordError(null);
    setStepError(null);
  }

  function closeStep(focus: 'summary' | 'add' | 'name') {
    focusAfter.current = focus;
    setPassword('');
    setAskPassword(false);
  }

  /** One attempt; `currentPassword` only on the password step. */
  async function add(currentPassword?: string) {
    if (pending) return;
    setPending(true);
    setMessage(null);
    try {
      const created = await addPasskey(name, currentPassword);
      clearErrors();
      setName('');
      update((data) => ({ items: [...data.items, created] }));
      setMessage(`The passkey “${created.name}” was added. You can now sign in with it.`);
      closeStep('summary');
    } catch (caught) {
      if (caught instanceof ApiError && caught.status === 401) return;
      if (caught instanceof ApiError && caught.code === 'reauthentication_required') {
        clearErrors();
        setAskPassword(true);
        return;
      }
      const fields = caught instanceof ApiError ? caught.fields : undefined;
      setFailures((n) => n + 1);
      if (fields?.name) {
        clearErrors();
        setNameError(fields.name);
        closeStep('name');
      } else if (currentPassword !== undefined && fields?.current_password) {
        setPasswordError(fields.current_password);
        setStepError(null);
      } else {
        clearErrors();
        setAddError(caught instanceof CeremonyError ? caught.message : (fields?.response ?? errorMessage(caught)));
        closeStep('add');
      }
    } finally {
      setPending(false);
    }
  }

  function submitAdd(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    if (pending) return;
    if ([...name.trim()].length > PASSKEY_NAME_MAX) {
      setNameError(`Use at most ${PASSKEY_NAME_MAX} characters.`);
      focusAfter.current = 'name';
      setFailures((n) => n + 1);
      return;
    }
    void add();
  }

  function submitPassword() {
    if (!password) {
      setPasswordError('Enter your password.');
      setStepError(null);
      setFailures((n) => n + 1);
    } else void add(password);
  }

  async function rename(passkey: Passkey, newName: string) {
    const renamed = await renamePasskey(passkey.id, newName);
    update((data) => ({ items: data.items.map((item) => (item.id === renamed.id ? renamed : item)) }));
    setMessage(`Renamed the passkey to “${renamed.name}”.`);
  }

  async function remove(passkey: Passkey, currentPassword?: string) {
    try {
      await removePasskey(passkey.id, currentPassword);
      setMessage(`The passkey “${passkey.name}” was removed.`);
    } catch (caught) {
      // Removed already (from another tab): gone all the same.
      if (!(caught instanceof ApiError && caught.status === 404)) throw caught;
      setMessage('That passkey had already been removed.');
    }
    focusAfter.current = 'summary';
    update((data) => ({ items: data.items.filter((item) => item.id !== passkey.id) }));
  }

  const nameErrorId = 'passkey-name-error';
  return (
    <section className="card" aria-labelledby="passkeys-heading">
      <h2 id="passkeys-heading">Passkeys</h2>
      <p className="hint">Sign in with your fingerprint, face or screen lock instead of your password. A passkey is kept by this device or your password manager, and works only on this site.</p>

      <div role="status" className="announcer">
        {message ? <p className="notice">{message}</p> : null}
      </div>

      {resource.status === 'loading' ? <Loading>Loading your passkeys…</Loading> : null}
      {resource.status === 'error' ? <ErrorMessage error={resource.error} title="Could not load your passkeys." onRetry={reload} /> : null}
      {resource.status === 'ready' ? (
        <>
          <p className="summary" ref={summary} tabIndex={-1}>
            {summaryText(resource.data.items.length)}
          </p>
          {resource.data.items.length > 0 ? (
            <ul className="rows" aria-labelledby="passkeys-heading">
              {resource.data.items.map((passkey) => (
                <li key={passkey.id}>
                  <PasskeyRow passkey={passkey} onRename={(newName) => rename(passkey, newName)} onRemove={(current) => remove(passkey, current)} />
                </li>
              ))}
            </ul>
          ) : null}
        </>
      ) : null}

      {askPassword ? (
        <PasswordStep
          id="passkey-add"
          question="Confirm it is you: enter your password to add a passkey."
          submitLabel={pending ? 'Waiting for your passkey…' : 'Continue'}
          pending={pending}
          password={password}
          onPasswordChange={setPassword}
          passwordError={passwordError}
          error={stepError}
          failures={failures}
          onSubmit={submitPassword}
          onCancel={() => {
            clearErrors();
            closeStep('add');
          }}
        />
      ) : (
        <form className="account-form" onSubmit={submitAdd} noValidate>
          <div className={`field${nameError ? ' field--invalid' : ''}`}>
            <label htmlFor="passkey-name" className="label">
              Name for a new passkey <span className="optional">(optional)</span>
            </label>
            <p className="hint" id="passkey-name-hint">
              For example the device or password manager that keeps it. At most {PASSKEY_NAME_MAX} characters.
            </p>
            {nameError ? (
              <p className="field-error" id={nameErrorId}>
                <span className="visually-hidden">Error: </span>
                {nameError}
              </p>
            ) : null}
            <input
              ref={nameInput}
              id="passkey-name"
              name="passkey-name"
              type="text"
              autoComplete="off"
              value={name}
              onChange={(event) => setName(event.target.value)}
              aria-invalid={nameError ? true : undefined}
              aria-describedby={nameError ? `passkey-name-hint ${nameErrorId}` : 'passkey-name-hint'}
            />
          </div>
          <button ref={addButton} type="submit" className="button" aria-disabled={pending || undefined}>
            {pending ? 'Waiting for your passkey…' : 'Add a passkey'}
          </button>
        </form>
      )}

      {addError ? (
        <div className="error-box" role="alert">
          <p className="error-box__title">No passkey was added.</p>
          <p>{addError}</p>
        </div>
      ) : null}
    </section>
  );
}
