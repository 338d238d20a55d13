import { useEffect, useRef, useState } from 'react';
import { NameForm } from '../../components/NameForm';
import { ErrorMessage, Loading } from '../../components/Status';
import { ApiError, errorMessage } from '../../lib/api';
import { setFlash } from '../../lib/flash';
import { Link, navigate } from '../../lib/router';
import { useDocumentTitle } from '../../lib/use-document-title';
import { useResource } from '../../lib/use-resource';
import { addItem, deleteBucketlist, deleteItem, getBucketlist, renameBucketlist, updateItem } from './api';
import { ItemRow } from './ItemRow';

function BackLink() {
  return (
    <p className="back">
      <Link href="/bucketlists">
        <span aria-hidden="true">← </span>All bucketlists
      </Link>
    </p>
  );
}

/** One bucketlist and its items. */
export function BucketlistPage({ id }: { id: number }) {
  const { resource, reload, update } = useResource(`bucketlist-${id}`, (signal) => getBucketlist(id, signal));
  const [mode, setMode] = useState<'view' | 'rename' | 'confirm-delete'>('view');
  const [deleting, setDeleting] = useState(false);
  const [deleteError, setDeleteError] = useState<string | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const itemsHeading = useRef<HTMLHeadingElement>(null);
  const renameButton = useRef<HTMLButtonElement>(null);
  const confirmButton = useRef<HTMLButtonElement>(null);
  const previousMode = useRef(mode);

  useDocumentTitle(resource.status === 'ready' ? resource.data.name : 'Bucketlist');

  useEffect(() => {
    if (mode === 'confirm-delete') confirmButton.current?.focus();
    if (mode === 'view' && previousMode.current === 'rename') renameButton.current?.focus();
    previousMode.current = mode;
  }, [mode]);

  if (resource.status === 'loading') {
    return (
      <>
        <BackLink />
        <h1 tabIndex={-1}>Bucketlist</h1>
        <Loading>Loading the bucketlist…</Loading>
      </>
    );
  }
  if (resource.status === 'error') {
    const missing = resource.error instanceof ApiError && resource.error.status === 404;
    return (
      <>
        <BackLink />
        <h1 tabIndex={-1}>{missing ? 'Bucketlist not found' : 'Bucketlist'}</h1>
        {missing ? (
          <p>This bucketlist does not exist, or it is not yours.</p>
        ) : (
          <ErrorMessage error={resource.error} title="Could not load the bucketlist." onRetry={reload} />
        )}
      </>
    );
  }

  const bucketlist = resource.data;
  const done = bucketlist.items.filter((item) => item.done).length;

  async function removeBucketlist() {
    setDeleting(true);
    setDeleteError(null);
    try {
      await deleteBucketlist(id);
      setFlash(`Deleted “${bucketlist.name}”.`);
      navigate('/bucketlists');
    } catch (caught) {
      setDeleting(false);
      if (!(caught instanceof ApiError && caught.status === 401)) setDeleteError(errorMessage(caught));
    }
  }

  return (
    <>
      <BackLink />
      <div className="title-row">
        <h1 tabIndex={-1}>{bucketlist.name}</h1>
        {mode === 'view' ? (
          <div className="row__actions">
            <button ref={renameButton} type="button" className="button button--secondary button--small" onClick={() => setMode('rename')}>
              Rename<span className="visually-hidden"> bucketlist</span>
            </button>
            <button type="button" className="button button--secondary button--small" onClick={() => setMode('confirm-delete')}>
              Delete<span className="visually-hidden"> bucketlist</span>
            </button>
          </div>
        ) : null}
      </div>

      {mode === 'rename' ? (
        <div className="card">
          <NameForm
            id="rename-bucketlist"
            label="New name"
            submitLabel="Save"
            pendingLabel="Saving…"
            initialName={bucketlist.name}
            autoFocus
            onSubmit={async (name) => {
              const renamed = await renameBucketlist(id, name);
              update((data) => ({ ...data, ...renamed, items: data.items }));
              setMessage(`Renamed to “${renamed.name}”.`);
              setMode('view');
            }}
            onCancel={() => setMode('view')}
          />
        </div>
      ) : null}

      {mode === 'confirm-delete' ? (
        <div className="card row--confirm" role="group" aria-labelledby="delete-question">
          <p id="delete-question" className="row__question">
            Delete “{bucketlist.name}” and its {bucketlist.items.length} item{bucketlist.items.length === 1 ? '' : 's'}? This cannot be undone.
          </p>
          <div className="row__actions">
            <button ref={confirmButton} type="button" className="button button--danger" onClick={removeBucketlist} disabled={deleting}>
              {deleting ? 'Deleting…' : 'Yes, delete'}
            </button>
            <button type="button" className="button button--secondary" onClick={() => setMode('view')} disabled={deleting}>
              Cancel
            </button>
          </div>
          {deleteError ? (
            <p className="field-error" role="alert">
              Could not delete: {deleteError}
            </p>
          ) : null}
        </div>
      ) : null}

      <div role="status" className="announcer">
        {message ? <p className="notice">{message}</p> : null}
      </div>

      <section className="card" aria-labelledby="items-heading">
        <h2 id="items-heading" ref={itemsHeading} tabIndex={-1}>
          Items
        </h2>
        <p className="summary">
          {bucketlist.items.length === 0 ? 'No items yet. Add the first one below.' : `${done} of ${bucketlist.items.length} done.`}
        </p>
        {bucketlist.items.length > 0 ? (
          <ul className="rows" aria-labelledby="items-heading">
            {bucketlist.items.map((item) => (
              <li key={item.id}>
                <ItemRow
                  item={item}
                  onToggle={async (isDone) => {
                    const changed = await updateItem(id, item.id, { done: isDone });
                    update((data) => ({ ...data, items: data.items.map((i) => (i.id === changed.id ? changed : i)) }));
                  }}
                  onRename={async (name) => {
                    const changed = await updateItem(id, item.id, { name });
                    update((data) => ({ ...data, items: data.items.map((i) => (i.id === changed.id ? changed : i)) }));
                    setMessage(`Renamed to “${changed.name}”.`);
                  }}
                  onDelete={async () => {
                    await deleteItem(id, item.id);
                    update((data) => ({ ...data, items: data.items.filter((i) => i.id !== item.id) }));
                    setMessage(`Deleted “${item.name}”.`);
                    itemsHeading.current?.focus();
                  }}
                />
              </li>
            ))}
          </ul>
        ) : null}
        <NameForm
          id="new-item"
          label="New item"
          submitLabel="Add item"
          pendingLabel="Adding…"
          onSubmit={async (name) => {
            const item = await addItem(id, name);
            update((data) => ({ ...data, items: [...data.items, item] }));
            setMessage(`Added “${item.name}”.`);
          }}
        />
      </section>
    </>
  );
}
