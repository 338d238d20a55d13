import { Link } from '../../lib/router';

export interface PaginationProps {
  page: number;
  pageCount: number;
  hrefFor: (page: number) => string;
  onNavigate: () => void;
}

/** Previous / "Page 2 of 5" / Next, as real links so they can be opened in a new tab. */
export function Pagination({ page, pageCount, hrefFor, onNavigate }: PaginationProps) {
  if (pageCount <= 1) return null;
  return (
    <nav className="pagination" aria-label="Pagination">
      {page > 1 ? (
        <Link className="button button--secondary" href={hrefFor(page - 1)} rel="prev" onClick={onNavigate}>
          <span aria-hidden="true">←</span> Previous<span className="visually-hidden"> page</span>
        </Link>
      ) : (
        <span className="pagination__placeholder" />
      )}
      <span className="pagination__position" aria-current="page">
        Page {page} of {pageCount}
      </span>
      {page < pageCount ? (
        <Link className="button button--secondary" href={hrefFor(page + 1)} rel="next" onClick={onNavigate}>
          Next<span className="visually-hidden"> page</span> <span aria-hidden="true">→</span>
        </Link>
      ) : (
        <span className="pagination__placeholder" />
      )}
    </nav>
  );
}
