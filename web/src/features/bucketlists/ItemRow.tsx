import { useState } from 'react';
import { EditableRow } from '../../components/EditableRow';
import { ApiError, errorMessage } from '../../lib/api';
import type { Item } from '../../lib/types';

export interface ItemRowProps {
  item: Item;
  onToggle: (done: boolean) => Promise<void>;
  onRename: (name: string) => Promise<void>;
  onDelete: () => Promise<void>;
}

/** One item: tick it off (a real checkbox, labelled by the item's name), rename it, delete it. */
export function ItemRow({ item, onToggle, onRename, onDelete }: ItemRowProps) {
  // The box shows the click at once; the server's answer then replaces it (or the error undoes it).
  const [pendingDone, setPendingDone] = useState<boolean | null>(null);
  const [error, setError] = useState<string | null>(null);
  const pending = pendingDone !== null;
  const checked = pendingDone ?? item.done;
  const inputId = `item-${item.id}-done`;

  async function toggle(done: boolean) {
    setPendingDone(done);
    setError(null);
    try {
      await onToggle(done);
    } catch (caught) {
      if (!(caught instanceof ApiError && caught.status === 401)) setError(`Could not update “${item.name}”: ${errorMessage(caught)}`);
    } finally {
      setPendingDone(null);
    }
  }

  return (
    <EditableRow rowId={`item-${item.id}`} name={item.name} noun="item" onRename={onRename} onDelete={onDelete}>
      <div className={`check${checked ? ' check--done' : ''}`}>
        <input id={inputId} type="checkbox" checked={checked} disabled={pending} aria-busy={pending || undefined} onChange={(event) => void toggle(event.target.checked)} />
        <label htmlFor={inputId}>{item.name}</label>
      </div>
      {error ? (
        <p className="field-error" role="alert">
          {error}
        </p>
      ) : null}
    </EditableRow>
  );
}
