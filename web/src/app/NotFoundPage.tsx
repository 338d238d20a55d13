import { Link } from '../lib/router';
import { useDocumentTitle } from '../lib/use-document-title';

/** A client-side link to nowhere; the server answers such paths with its own 404 page on reload. */
export function NotFoundPage() {
  useDocumentTitle('Page not found');
  return (
    <>
      <h1 tabIndex={-1}>Page not found</h1>
      <p>There is nothing at this address.</p>
      <p>
        <Link href="/">Go to the home page</Link>
      </p>
    </>
  );
}
