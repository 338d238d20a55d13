import { useCallback } from 'react';
import { Link } from '../../lib/router';
import { useDocumentTitle } from '../../lib/use-document-title';
import { useResource } from '../../lib/use-resource';
import { ErrorMessage, Loading } from '../../components/Status';
import { useUser } from '../auth/session';
import { listBucketlists } from '../bucketlists/api';

/** The home page: the greeting the server also writes into the HTML, and a way in. */
export function HomePage() {
  const user = useUser();
  useDocumentTitle('Home');
  const load = useCallback((signal: AbortSignal) => listBucketlists({ page: 1, limit: 1 }, signal), []);
  const { resource, reload } = useResource('home', load);

  return (
    <>
      <h1 tabIndex={-1}>Welcome, {user.username}!</h1>
      <p className="lead">Gatehouse keeps your account safe and your bucketlists in one place.</p>
      <section className="card" aria-labelledby="home-bucketlists">
        <h2 id="home-bucketlists">Your bucketlists</h2>
        {resource.status === 'loading' ? <Loading>Counting your bucketlists…</Loading> : null}
        {resource.status === 'error' ? <ErrorMessage error={resource.error} title="Could not count your bucketlists." onRetry={reload} /> : null}
        {resource.status === 'ready' ? (
          <p>
            {resource.data.total === 0
              ? 'You have no bucketlists yet.'
              : `You have ${resource.data.total} bucketlist${resource.data.total === 1 ? '' : 's'}.`}
          </p>
        ) : null}
        <p>
          <Link className="button" href="/bucketlists">
            Go to your bucketlists
          </Link>
        </p>
      </section>
    </>
  );
}
