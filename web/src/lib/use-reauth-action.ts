import { useState } from 'react';
import { ApiError, errorMessage } from './api';

/** Where a destructive action stands: its button, the inline "are you sure?", or the password asked for. */
export type ReauthStep = 'start' | 'confirm' | 'password';

/**
 * A destructive action the server may refuse with 403 reauthentication_required until the password
 * is given (a *recent* route): its step, one attempt at a time, and the password step's errors.
 * `run` does it, with `currentPassword` only from the password step. `onErrors` hears when the
 * password step starts and stops showing errors (a page puts "Error:" in its title).
 *
 * @example const action = useReauthAction((password) => deleteAccount(password));
 */
export function useReauthAction(run: (currentPassword?: string) => Promise<void>, onErrors?: (shown: boolean) => void) {
  const [step, setStep] = useState<ReauthStep>('start');
  const [pending, setPending] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [password, setPassword] = useState('');
  const [passwordError, setPasswordError] = useState<string | null>(null);
  const [failures, setFailures] = useState(0);

  /** Back to the start button, with nothing left over. */
  function reset(): void {
    setPending(false);
    setError(null);
    setPassword('');
    setPasswordError(null);
    onErrors?.(false);
    setStep('start');
  }

  function passwordFailed(fieldError: string | null, message: string | null): void {
    setPasswordError(fieldError);
    setError(message);
    setFailures((n) => n + 1);
    onErrors?.(true);
  }

  /**
   * One attempt. True when it succeeded; it then stays pending, for the caller to leave the page,
   * drop the row or `reset()`. A 401 is the app's to handle (it signs the user out).
   */
  async function attempt(currentPassword?: string): Promise<boolean> {
    if (pending) return false;
    setPending(true);
    setError(null);
    try {
      await run(currentPassword);
      return true;
    } catch (caught) {
      setPending(false);
      if (caught instanceof ApiError && caught.status === 401) return false;
      if (caught instanceof ApiError && caught.code === 'reauthentication_required') {
        setStep('password');
        return false;
      }
      if (currentPassword === undefined) {
        setError(errorMessage(caught));
        return false;
      }
      const fieldError = caught instanceof ApiError ? caught.fields?.current_password : undefined;
      passwordFailed(fieldError ?? null, fieldError ? null : errorMessage(caught));
      return false;
    }
  }

  /** The password step's submit: an empty field is named, else the same attempt with the password. */
  function submitPassword(): Promise<boolean> {
    if (pending) return Promise.resolve(false);
    if (!password) {
      passwordFailed('Enter your password.', null);
      return Promise.resolve(false);
    }
    return attempt(password);
  }

  function cancel(): void {
    if (!pending) reset();
  }

  return { step, setStep, pending, error, password, setPassword, passwordError, failures, attempt, submitPassword, reset, cancel };
}
