import type { ReactNode } from 'react';
import { errorMessage } from '../lib/api';

/** A polite "working on it" line, announced by screen readers. */
export function Loading({ children }: { children: string }) {
  return (
    <p className="status" role="status">
      <span className="spinner" aria-hidden="true" />
      {children}
    </p>
  );
}

/** A failed request, said in words, with a way to try again. */
export function ErrorMessage({ error, title, onRetry }: { error: unknown; title?: string; onRetry?: () => void }) {
  return (
    <div className="error-box" role="alert">
      {title ? <p className="error-box__title">{title}</p> : null}
      <p>{errorMessage(error)}</p>
      {onRetry ? (
        <button type="button" className="button button--secondary" onClick={onRetry}>
          Try again
        </button>
      ) : null}
    </div>
  );
}

/** Text for screen readers only (e.g. which bucketlist a "Rename" button renames). */
export function VisuallyHidden({ children }: { children: ReactNode }) {
  return <span className="visually-hidden">{children}</span>;
}
