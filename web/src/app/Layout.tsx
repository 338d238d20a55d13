import type { ReactNode } from 'react';
import { LogoutButton } from '../features/auth/LogoutButton';
import { useUser } from '../features/auth/session';
import { Link, useLocation } from '../lib/router';

const NAV = [
  { href: '/', label: 'Home', current: (path: string) => path === '/' },
  { href: '/bucketlists', label: 'Bucketlists', current: (path: string) => path === '/bucketlists' || path.startsWith('/bucketlists/') },
  { href: '/account', label: 'Account', current: (path: string) => path === '/account' },
];
/** The admin console's entry, listed for admins only (the server renders the same, src/server/pages/app-shell.ts). */
const ADMIN_NAV = { href: '/admin', label: 'Admin', current: (path: string) => path === '/admin' || path.startsWith('/admin/') };

/**
 * The page frame. The server renders the same markup (src/server/pages/app-shell.ts) so the page
 * looks the same before and after the app takes over.
 */
export function Layout({ children }: { children: ReactNode }) {
  const user = useUser();
  const { pathname } = useLocation();
  const nav = user.role === 'admin' ? [...NAV, ADMIN_NAV] : NAV;
  return (
    <>
      <a className="skip-link" href="#main">
        Skip to main content
      </a>
      <header className="site-header">
        <div className="site-header__inner">
          <Link className="brand" href="/">
            Gatehouse
          </Link>
          <nav className="site-nav" aria-label="Main">
            <ul>
              {nav.map((item) => (
                <li key={item.href}>
                  <Link href={item.href} aria-current={item.current(pathname) ? 'page' : undefined}>
                    {item.label}
                  </Link>
                </li>
              ))}
            </ul>
          </nav>
          <div className="account">
            <span className="account__name">
              Signed in as <strong>{user.username}</strong>
            </span>
            <LogoutButton />
          </div>
        </div>
      </header>
      <main id="main" className="page" tabIndex={-1}>
        {children}
      </main>
    </>
  );
}
