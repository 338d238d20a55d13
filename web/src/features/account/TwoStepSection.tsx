import { useEffect, useRef, useState } from 'react';
import type { FormEvent } from 'react';
import { ErrorSummary } from '../../components/ErrorSummary';
import { Field } from '../../components/Field';
import { ErrorMessage, Loading } from '../../components/Status';
import { ApiError, errorMessage } from '../../lib/api';
import { useResource } from '../../lib/use-resource';
import { confirmTotp, disableTotp, getMfaStatus, newRecoveryCodes, startTotp } from './mfa-api';
import { PasswordStep } from '../../components/PasswordStep';
import { QrCode } from './QrCode';
import './TwoStepSection.css';

/** What the *recent* password step was opened for. */
type Action = 'start' | 'disable' | 'regenerate';

type Step =
  | { kind: 'idle' }
  | { kind: 'confirm'; action: 'disable' | 'regenerate' }
  | { kind: 'password'; action: Action }
  | { kind: 'setup'; secret: string; uri: string }
  | { kind: 'codes'; codes: string[]; reason: 'enabled' | 'regenerated' };

type Focus = 'summary' | 'setup' | 'codes' | 'start' | 'disable' | 'regenerate';

const LOW_CODES = 3;

/** "ABCD EFGH …": the key in groups of four, easier to type into an app by hand. */
function grouped(secret: string): string {
  return secret.replace(/=+$/, '').match(/.{1,4}/g)?.join(' ') ?? secret;
}

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

const QUESTIONS: Record<'disable' | 'regenerate', string> = {
  disable: 'Turn off two-step verification? Signing in will ask for your password only, and your recovery codes stop working.',
  regenerate: 'Make new recovery codes? The codes you have now stop working.',
};

const PASSWORD_QUESTIONS: Record<Action, string> = {
  start: 'Confirm it is you: enter your password to set up two-step verification.',
  disable: 'Confirm it is you: enter your password to turn off two-step verification.',
  regenerate: 'Confirm it is you: enter your password to make new recovery codes.',
};

const SUBMIT_LABELS: Record<Action, string> = { start: 'Continue', disable: 'Turn off', regenerate: 'Make new codes' };

/**
 * Two-step verification with an authenticator app (TOTP): set it up (POST /api/me/mfa/totp: a QR
 * code and the key to type by hand; the app's first code confirms it and brings the recovery
 * codes, shown this once), turn it off, make new recovery codes. Setting up, turning off and new
 * codes are *recent*: on 403 reauthentication_required the section asks for the password and
 * sends the same request again with it, as EmailSection does.
 */
export function TwoStepSection() {
  const { resource, reload, update } = useResource('mfa-status', (signal) => getMfaStatus(signal));
  const [step, setStep] = useState<Step>({ kind: 'idle' });
  const [pending, setPending] = useState(false);
  const [message, setMessage] = useState<string | null>(null);
  const [actionError, setActionError] = useState<string | null>(null);
  const [password, setPassword] = useState('');
  const [passwordError, setPasswordError] = useState<string | null>(null);
  const [stepError, setStepError] = useState<string | null>(null);
  const [code, setCode] = useState('');
  const [codeError, setCodeError] = useState<string | null>(null);
  const [setupError, setSetupError] = useState<string | null>(null);
  const [failures, setFailures] = useState(0);
  const [saveMessage, setSaveMessage] = useState<string | null>(null);
  const summary = useRef<HTMLParagraphElement>(null);
  const setupHeading = useRef<HTMLHeadingElement>(null);
  const codesHeading = useRef<HTMLHeadingElement>(null);
  const startButton = useRef<HTMLButtonElement>(null);
  const disableButton = useRef<HTMLButtonElement>(null);
  const regenerateButton = useRef<HTMLButtonElement>(null);
  const confirmButton = useRef<HTMLButtonElement>(null);
  const focusAfter = useRef<Focus | null>(null);

  useEffect(() => {
    if (step.kind === 'confirm') confirmButton.current?.focus();
  }, [step]);

  useEffect(() => {
    const targets = { summary, setup: setupHeading, codes: codesHeading, start: startButton, disable: disableButton, regenerate: regenerateButton };
    if (focusAfter.current) targets[focusAfter.current].current?.focus();
    focusAfter.current = null;
  });

  function clearErrors() {
    setActionError(null);
    setPasswordError(null);
    setStepError(null);
    setCodeError(null);
    setSetupError(null);
  }

  /** Back to the section's start; `focus`: what takes focus once the step is gone. */
  function reset(focus: Focus | null) {
    focusAfter.current = focus;
    setPassword('');
    setCode('');
    setSaveMessage(null);
    setStep({ kind: 'idle' });
  }

  /** One attempt at a *recent* action; `currentPassword` only from the password step. */
  async function run(action: Action, currentPassword?: string) {
    if (pending) return;
    setPending(true);
    setMessage(null);
    try {
      if (action === 'start') {
        const { secret, otpauth_uri: uri } = await startTotp(currentPassword);
        clearErrors();
        setPassword('');
        setCode('');
        focusAfter.current = 'setup';
        setStep({ kind: 'setup', secret, uri });
      } else if (action === 'disable') {
        await disableTotp(currentPassword);
        clearErrors();
        update((status) => ({ ...status, totp: false, recovery_codes_left: 0 }));
        setMessage('Two-step verification is off. Signing in asks for your password only.');
        reset('summary');
      } else {
        const { recovery_codes: codes } = await newRecoveryCodes(currentPassword);
        clearErrors();
        update((status) => ({ ...status, recovery_codes_left: codes.length }));
        setPassword('');
        setSaveMessage(null);
        focusAfter.current = 'codes';
        setStep({ kind: 'codes', codes, reason: 'regenerated' });
      }
    } catch (caught) {
      if (caught instanceof ApiError && caught.status === 401) return;
      if (caught instanceof ApiError && caught.code === 'reauthentication_required') {
        clearErrors();
        setStep({ kind: 'password', action });
        return;
      }
      const fieldError = caught instanceof ApiError ? caught.fields?.current_password : undefined;
      if (currentPassword !== undefined && (fieldError || !(caught instanceof ApiError && caught.status === 409))) {
        setPasswordError(fieldError ?? null);
        setStepError(fieldError ? null : errorMessage(caught));
        setFailures((n) => n + 1);
        return;
      }
      // 409: it changed in another tab or browser. Say so in the server's words and show what is true now.
      reset(action);
      setActionError(errorMessage(caught));
      if (caught instanceof ApiError && caught.status === 409) reload();
    } finally {
      setPending(false);
    }
  }

  function submitPassword() {
    if (step.kind !== 'password') return;
    if (!password) {
      setPasswordError('Enter your password.');
      setStepError(null);
      setFailures((n) => n + 1);
      return;
    }
    void run(step.action, password);
  }

  async function submitCode(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    if (pending) return;
    const typed = code.replace(/\s+/g, '');
    if (!typed) {
      setCodeError('Enter the 6-digit code your app shows.');
      setSetupError(null);
      setFailures((n) => n + 1);
      return;
    }
    setPending(true);
    try {
      const { recovery_codes: codes } = await confirmTotp(typed);
      clearErrors();
      setCode('');
      update((status) => ({ ...status, totp: true, recovery_codes_left: codes.length }));
      setMessage('Two-step verification is on.');
      setSaveMessage(null);
      focusAfter.current = 'codes';
      setStep({ kind: 'codes', codes, reason: 'enabled' });
    } catch (caught) {
      if (caught instanceof ApiError && caught.status === 401) return;
      const fieldError = caught instanceof ApiError ? caught.fields?.code : undefined;
      setCodeError(fieldError ?? null);
      setSetupError(fieldError ? null : errorMessage(caught));
      setFailures((n) => n + 1);
      if (caught instanceof ApiError && caught.status === 409) reload();
    } finally {
      setPending(false);
    }
  }

  function cancel(focus: Focus) {
    if (pending) return;
    clearErrors();
    reset(focus);
  }

  async function copyCodes(codes: string[]) {
    try {
      await navigator.clipboard.writeText(codes.join('\n'));
      setSaveMessage('The recovery codes are copied.');
    } catch {
      setSaveMessage('Copying did not work here: select the codes and copy them, or download them.');
    }
  }

  function downloadCodes(codes: string[]) {
    const text = `Gatehouse recovery codes for ${window.location.host}\nEach code works once.\n\n${codes.join('\n')}\n`;
    const url = URL.createObjectURL(new Blob([text], { type: 'text/plain' }));
    const link = document.createElement('a');
    link.href = url;
    link.download = 'gatehouse-recovery-codes.txt';
    document.body.append(link);
    link.click();
    link.remove();
    URL.revokeObjectURL(url);
    setSaveMessage('The recovery codes are downloaded as gatehouse-recovery-codes.txt.');
  }

  const status = resource.status === 'ready' ? resource.data : null;

  return (
    <section className="card" aria-labelledby="two-step-heading">
      <h2 id="two-step-heading">Two-step verification</h2>
      <div role="status" className="announcer">
        {message ? <p className="notice">{message}</p> : null}
      </div>

      {resource.status === 'loading' ? <Loading>Loading two-step verification…</Loading> : null}
      {resource.status === 'error' ? <ErrorMessage error={resource.error} title="Could not load two-step verification." onRetry={reload} /> : null}

      {status ? (
        <p className="summary" ref={summary} tabIndex={-1}>
          {status.totp ? (
            <>
              <span className="badge">On</span> Signing in asks for a code from your authenticator app after your password.{' '}
              {step.kind === 'codes' ? null : `You have ${plural(status.recovery_codes_left, 'recovery code', 'recovery codes')} left.`}
            </>
          ) : (
            <>
              <span className="badge">Off</span> Signing in asks for your password only. Add an authenticator app, and signing in will also ask for the code it shows.
            </>
          )}
        </p>
      ) : null}

      {status && step.kind === 'idle' && !status.totp ? (
        <p>
          <button ref={startButton} type="button" className="button" onClick={() => void run('start')} aria-disabled={pending || undefined}>
            {pending ? 'Starting…' : 'Set up two-step verification'}
          </button>
        </p>
      ) : null}

      {status && status.totp && (step.kind === 'idle' || step.kind === 'confirm') ? (
        <>
          {status.recovery_codes_left <= LOW_CODES && step.kind === 'idle' ? (
            <p className="hint">{status.recovery_codes_left === 0 ? 'You have no recovery codes left.' : 'You are running out of recovery codes.'} Make new ones, so you can still sign in if you lose your device.</p>
          ) : null}
          {step.kind === 'idle' ? (
            <div className="row__actions two-step__actions">
              <button ref={regenerateButton} type="button" className="button button--secondary" onClick={() => setStep({ kind: 'confirm', action: 'regenerate' })}>
                New recovery codes
              </button>
              <button ref={disableButton} type="button" className="button button--danger" onClick={() => setStep({ kind: 'confirm', action: 'disable' })}>
                Turn off two-step verification
              </button>
            </div>
          ) : (
            <div className="confirm" role="group" aria-labelledby="two-step-question">
              <p id="two-step-question" className="row__question">
                {QUESTIONS[step.action]}
              </p>
              <div className="row__actions">
                <button
                  ref={confirmButton}
                  type="button"
                  className={step.action === 'disable' ? 'button button--danger' : 'button'}
                  onClick={() => void run(step.action)}
                  aria-disabled={pending || undefined}
                >
                  {step.action === 'disable' ? (pending ? 'Turning off…' : 'Yes, turn it off') : pending ? 'Making codes…' : 'Yes, make new codes'}
                </button>
                <button type="button" className="button button--secondary" onClick={() => cancel(step.action)} aria-disabled={pending || undefined}>
                  Cancel
                </button>
              </div>
            </div>
          )}
        </>
      ) : null}

      {step.kind === 'password' ? (
        <PasswordStep
          id="two-step"
          question={PASSWORD_QUESTIONS[step.action]}
          submitLabel={pending ? 'Checking…' : SUBMIT_LABELS[step.action]}
          pending={pending}
          password={password}
          onPasswordChange={setPassword}
          passwordError={passwordError}
          error={stepError}
          failures={failures}
          onSubmit={submitPassword}
          onCancel={() => cancel(step.action)}
        />
      ) : null}

      {step.kind === 'setup' ? (
        <div className="two-step__setup">
          <h3 ref={setupHeading} tabIndex={-1}>
            Set up your authenticator app
          </h3>
          <ol className="two-step__steps">
            <li>
              <p>Scan this QR code with an authenticator app on your phone, such as a password manager or an authenticator app.</p>
              <QrCode value={step.uri} label="QR code for your authenticator app" />
            </li>
            <li>
              <p>Cannot scan it? Enter this key in the app instead (time-based, 6 digits):</p>
              <p>
                <code className="two-step__secret" id="two-step-secret">
                  {grouped(step.secret)}
                </code>
              </p>
            </li>
            <li>
              <p>Enter the 6-digit code the app now shows.</p>
              {codeError || setupError ? <ErrorSummary id="two-step-errors" message={setupError} items={codeError ? [{ fieldId: 'two-step-code', message: codeError }] : []} focusKey={failures} /> : null}
              <form className="account-form" onSubmit={(event) => void submitCode(event)} noValidate>
                <Field id="two-step-code" label="Code from the app" type="text" autoComplete="one-time-code" value={code} onChange={setCode} error={codeError ?? undefined} />
                <div className="row__actions">
                  <button type="submit" className="button" aria-disabled={pending || undefined}>
                    {pending ? 'Checking…' : 'Turn on'}
                  </button>
                  <button type="button" className="button button--secondary" onClick={() => cancel('start')} aria-disabled={pending || undefined}>
                    Cancel
                  </button>
                </div>
              </form>
            </li>
          </ol>
        </div>
      ) : null}

      {step.kind === 'codes' ? (
        <div className="two-step__codes">
          <h3 ref={codesHeading} tabIndex={-1}>
            {step.reason === 'enabled' ? 'Save your recovery codes' : 'Your new recovery codes'}
          </h3>
          <p>
            If you lose your device, each of these codes signs you in once instead of a code from the app. Keep them somewhere safe, such as a password manager, or print
            them. <strong>They are shown only now.</strong>
            {step.reason === 'regenerated' ? ' Your earlier codes no longer work.' : ''}
          </p>
          <ol className="two-step__code-list" aria-label="Recovery codes">
            {step.codes.map((recoveryCode) => (
              <li key={recoveryCode}>
                <code>{recoveryCode}</code>
              </li>
            ))}
          </ol>
          <div role="status">{saveMessage ? <p className="notice">{saveMessage}</p> : null}</div>
          <div className="row__actions two-step__actions">
            <button type="button" className="button button--secondary" onClick={() => void copyCodes(step.codes)}>
              Copy codes
            </button>
            <button type="button" className="button button--secondary" onClick={() => downloadCodes(step.codes)}>
              Download codes
            </button>
            <button type="button" className="button" onClick={() => reset('summary')}>
              I have saved my codes
            </button>
          </div>
        </div>
      ) : null}

      {actionError ? (
        <div className="error-box" role="alert">
          <p className="error-box__title">That did not work.</p>
          <p>{actionError}</p>
        </div>
      ) : null}
    </section>
  );
}
