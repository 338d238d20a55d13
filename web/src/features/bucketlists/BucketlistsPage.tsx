import { useEffect, useRef, useState } from 'react';
import type { FormEvent } from 'react';
import { EditableRow } from '../../components/EditableRow';
import { NameForm } from '../../components/NameForm';
import { ErrorMessage, Loading } from '../../components/Status';
import { takeFlash } from '../../lib/flash';
import { Link, navigate, useLocation } from '../../lib/router';
import { useDocumentTitle } from '../../lib/use-document-title';
import { useResource } from '../../lib/use-resource';
import { createBucketlist, deleteBucketlist, listBucketlists, renameBucketlist } from './api';
import { Pagination } from './Pagination';

/** Bucketlists per page in the UI (the API allows up to 100). */
export const PAGE_SIZE = 10;

function pageNumber(value: string | null): number {
  return value && /^[1-9][0-9]{0,5}$/.test(value) ? Number(value) : 1;
}

/** The list's URL: search and page live in the address, so reload, back and bookmarks work. */
export function bucketlistsHref({ q = '', page = 1 }: { q?: string; page?: number }): string {
  const params = new URLSearchParams();
  if (q) params.set('q', q);
  if (page > 1) params.set('page', String(page));
  const query = params.toString();
  return query ? `/bucketlists?${query}` : '/bucketlists';
}

/** All of a person's bucketlists: create, search, page through, rename and delete. */
export function BucketlistsPage() {
  useDocumentTitle('Bucketlists');
  const { query } = useLocation();
  const q = (query.get('q') ?? '').trim();
  const page = pageNumber(query.get('page'));
  const { resource, reload, update } = useResource(`${page}\n${q}`, (signal) => listBucketlists({ ...(q ? { q } : {}), page, limit: PAGE_SIZE }, signal));
  const [message, setMessage] = useState<string | null>(() => takeFlash());
  const summary = useRef<HTMLParagraphElement>(null);
  const focusSummary = useRef(false);

  const pageCount = resource.status === 'ready' ? Math.max(1, Math.ceil(resource.data.total / PAGE_SIZE)) : 1;

  useEffect(() => {
    if (resource.status !== 'ready') return;
    // A page past the end (the last row deleted, an old bookmark): show the last page instead.
    if (resource.data.items.length === 0 && resource.data.total > 0 && page > 1) {
      navigate(bucketlistsHref({ q, page: Math.ceil(resource.data.total / PAGE_SIZE) }), { replace: true });
      return;
    }
    if (focusSummary.current) {
      focusSummary.current = false;
      summary.current?.focus();
    }
  }, [resource, page, q]);

  async function create(name: string) {
    const created = await createBucketlist(name);
    setMessage(`Created “${created.name}”.`);
    // The list is oldest first, so the new one is on the last page of the unfiltered list.
    let lastPage = 1;
    try {
      const { total } = await listBucketlists({ page: 1, limit: 1 });
      lastPage = Math.max(1, Math.ceil(total / PAGE_SIZE));
    } catch {
      // The bucketlist exists; showing the first page is good enough.
    }
    const target = bucketlistsHref({ page: lastPage });
    if (target === bucketlistsHref({ q, page })) reload();
    else navigate(target);
  }

  function search(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const value = new FormData(event.currentTarget).get('q');
    setMessage(null);
    navigate(bucketlistsHref({ q: typeof value === 'string' ? value.trim() : '' }));
  }

  return (
    <>
      <h1 tabIndex={-1}>Your bucketlists</h1>

      <section className="card" aria-labelledby="create-heading">
        <h2 id="create-heading">Create a bucketlist</h2>
        <NameForm id="new-bucketlist" label="Name" submitLabel="Create bucketlist" pendingLabel="Creating…" onSubmit={create} />
      </section>

      <section className="card" aria-labelledby="list-heading">
        <h2 id="list-heading">All bucketlists</h2>
        <form className="search" role="search" method="get" action="/bucketlists" onSubmit={search}>
          <label htmlFor="search-q" className="label">
            Search by name
          </label>
          <div className="name-form__row">
            <input id="search-q" key={q} name="q" type="search" defaultValue={q} autoComplete="off" />
            <button type="submit" className="button button--secondary">
              Search
            </button>
          </div>
        </form>

        <div role="status" className="announcer">
          {message ? <p className="notice">{message}</p> : null}
        </div>

        {resource.status === 'loading' ? <Loading>Loading your bucketlists…</Loading> : null}
        {resource.status === 'error' ? <ErrorMessage error={resource.error} title="Could not load your bucketlists." onRetry={reload} /> : null}
        {resource.status === 'ready' ? (
          <>
            <p className="summary" ref={summary} tabIndex={-1}>
              {resource.data.total === 0
                ? q
                  ? `No bucketlists match “${q}”.`
                  : 'You have no bucketlists yet. Create your first one above.'
                : `Showing ${(page - 1) * PAGE_SIZE + 1}–${(page - 1) * PAGE_SIZE + resource.data.items.length} of ${resource.data.total} bucketlist${
                    resource.data.total === 1 ? '' : 's'
                  }${q ? ` matching “${q}”` : ''}.`}{' '}
              {q ? <Link href={bucketlistsHref({})}>Clear search</Link> : null}
            </p>
            {resource.data.items.length > 0 ? (
              <ul className="rows" aria-labelledby="list-heading">
                {resource.data.items.map((bucketlist) => (
                  <li key={bucketlist.id}>
                    <EditableRow
                      rowId={`bucketlist-${bucketlist.id}`}
                      name={bucketlist.name}
                      noun="bucketlist"
                      deleteDetail="and all its items"
                      onRename={async (name) => {
                        const renamed = await renameBucketlist(bucketlist.id, name);
                        update((data) => ({ ...data, items: data.items.map((b) => (b.id === renamed.id ? renamed : b)) }));
                        setMessage(`Renamed to “${renamed.name}”.`);
                      }}
                      onDelete={async () => {
                        await deleteBucketlist(bucketlist.id);
                        focusSummary.current = true;
                        update((data) => ({ ...data, total: data.total - 1, items: data.items.filter((b) => b.id !== bucketlist.id) }));
                        setMessage(`Deleted “${bucketlist.name}”.`);
                      }}
                    >
                      <Link className="row__link" href={`/bucketlists/${bucketlist.id}`}>
                        {bucketlist.name}
                      </Link>
                    </EditableRow>
                  </li>
                ))}
              </ul>
            ) : null}
            <Pagination page={page} pageCount={pageCount} hrefFor={(n) => bucketlistsHref({ q, page: n })} onNavigate={() => (focusSummary.current = true)} />
          </>
        ) : null}
      </section>
    </>
  );
}
