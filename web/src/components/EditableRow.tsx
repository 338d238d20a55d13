import { useEffect, useRef, useState } from 'react';
import type { ReactNode } from 'react';
import { ApiError, errorMessage } from '../lib/api';
import { NameForm } from './NameForm';
import { VisuallyHidden } from './Status';

export interface EditableRowProps {
  /** Unique among the rows: ids of the inline form and messages derive from it. */
  rowId: string;
  name: string;
  /** "bucketlist" or "item", for labels such as "New name for the item". */
  noun: string;
  /** What the row shows when not editing: a link, a checkbox… */
  children: ReactNode;
  /** Extra text in the delete question, e.g. "and its 3 items". */
  deleteDetail?: string;
  onRename: (name: string) => Promise<void>;
  onDelete: () => Promise<void>;
}

type Mode = 'view' | 'rename' | 'confirm-delete';

/**
 * A list row with Rename (an inline form) and Delete (an inline "are you sure?"): no dialogs,
 * focus always lands somewhere sensible, every request shows its state.
 */
export function EditableRow({ rowId, name, noun, children, deleteDetail, onRename, onDelete }: EditableRowProps) {
  const [mode, setMode] = useState<Mode>('view');
  const [deleting, setDeleting] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const renameButton = useRef<HTMLButtonElement>(null);
  const deleteButton = useRef<HTMLButtonElement>(null);
  const confirmButton = useRef<HTMLButtonElement>(null);
  const returnFocus = useRef<'rename' | 'delete' | null>(null);

  useEffect(() => {
    if (mode === 'confirm-delete') confirmButton.current?.focus();
    if (mode === 'view' && returnFocus.current) {
      (returnFocus.current === 'rename' ? renameButton : deleteButton).current?.focus();
      returnFocus.current = null;
    }
  }, [mode]);

  function back(to: 'rename' | 'delete') {
    returnFocus.current = to;
    setMode('view');
  }

  async function rename(newName: string) {
    await onRename(newName);
    back('rename');
  }

  async function confirmDelete() {
    setDeleting(true);
    setError(null);
    try {
      await onDelete();
    } catch (caught) {
      setDeleting(false);
      if (caught instanceof ApiError && caught.status === 401) return;
      setError(errorMessage(caught));
    }
  }

  if (mode === 'rename') {
    return (
      <div className="row row--editing">
        <NameForm
          id={`${rowId}-rename`}
          label={`New name for the ${noun} “${name}”`}
          hideLabel
          submitLabel="Save"
          pendingLabel="Saving…"
          initialName={name}
          autoFocus
          onSubmit={rename}
          onCancel={() => back('rename')}
        />
      </div>
    );
  }

  if (mode === 'confirm-delete') {
    return (
      <div className="row row--confirm" role="group" aria-labelledby={`${rowId}-question`}>
        <p id={`${rowId}-question`} className="row__question">
          Delete the {noun} “{name}”{deleteDetail ? ` ${deleteDetail}` : ''}? This cannot be undone.
        </p>
        <div className="row__actions">
          <button ref={confirmButton} type="button" className="button button--danger" onClick={confirmDelete} disabled={deleting}>
            {deleting ? 'Deleting…' : 'Yes, delete'}
          </button>
          <button type="button" className="button button--secondary" onClick={() => back('delete')} disabled={deleting}>
            Cancel
          </button>
        </div>
        {error ? (
          <p className="field-error" role="alert">
            Could not delete: {error}
          </p>
        ) : null}
      </div>
    );
  }

  return (
    <div className="row">
      <div className="row__main">{children}</div>
      <div className="row__actions">
        <button ref={renameButton} type="button" className="button button--secondary button--small" onClick={() => setMode('rename')}>
          Rename<VisuallyHidden> {name}</VisuallyHidden>
        </button>
        <button ref={deleteButton} type="button" className="button button--secondary button--small" onClick={() => setMode('confirm-delete')}>
          Delete<VisuallyHidden> {name}</VisuallyHidden>
        </button>
      </div>
    </div>
  );
}
