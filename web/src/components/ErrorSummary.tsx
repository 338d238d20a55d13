import { useEffect, useRef } from 'react';
import type { MouseEvent } from 'react';

export interface SummaryItem {
  /** The id of the input the message is about. */
  fieldId: string;
  message: string;
}

export interface ErrorSummaryProps {
  /** Unique on the page: the summary's id and its heading's. */
  id: string;
  /** A problem with the whole form (429, a network failure…). */
  message?: string | null | undefined;
  items: SummaryItem[];
  /** Changes with every failed submission, so the summary takes focus again each time. */
  focusKey: number;
}

/**
 * "There is a problem" at the top of a form, as the server's forms show it: it takes focus after a
 * failed submission, so keyboard and screen-reader users start at the problem, and each field's
 * message is a link that moves focus to that field.
 */
export function ErrorSummary({ id, message, items, focusKey }: ErrorSummaryProps) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    box.current?.focus();
  }, [focusKey]);

  function toField(event: MouseEvent<HTMLAnchorElement>, fieldId: string) {
    // Focus the field itself (following the fragment would only scroll), and keep the address clean.
    event.preventDefault();
    const input = document.getElementById(fieldId);
    input?.focus();
    input?.scrollIntoView({ block: 'center' });
  }

  return (
    <div ref={box} className="error-summary" role="alert" aria-labelledby={`${id}-title`} tabIndex={-1} id={id}>
      <h3 id={`${id}-title`}>There is a problem</h3>
      {message ? <p>{message}</p> : null}
      {items.length > 0 ? (
        <ul>
          {items.map((item) => (
            <li key={item.fieldId}>
              <a href={`#${item.fieldId}`} onClick={(event) => toField(event, item.fieldId)}>
                {item.message}
              </a>
            </li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}
