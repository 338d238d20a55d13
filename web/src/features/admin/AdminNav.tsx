import { useEffect, useState } from 'react';
import { Link, useLocation } from '../../lib/router';
import { oidcAvailable } from './admin-api';

const PAGES = [
  { href: '/admin', label: 'Dashboard', current: (path: string) => path === '/admin' },
  { href: '/admin/users', label: 'Users', current: (path: string) => path === '/admin/users' || path.startsWith('/admin/users/') },
  { href: '/admin/audit', label: 'Audit log', current: (path: string) => path === '/admin/audit' },
  { href: '/admin/apps', label: 'Apps', current: (path: string) => path === '/admin/apps' },
];

/**
 * The console's own navigation, under each page's heading. "Apps" (OpenID Connect clients) is
 * left out when the server has no OpenID Connect provider (OIDC_ENABLED=false).
 */
export function AdminNav() {
  const { pathname } = useLocation();
  const [oidc, setOidc] = useState(true);
  useEffect(() => {
    let live = true;
    void oidcAvailable().then((available) => live && setOidc(available));
    return () => {
      live = false;
    };
  }, []);
  const pages = oidc ? PAGES : PAGES.filter((page) => page.href !== '/admin/apps');
  return (
    <nav className="admin-nav" aria-label="Admin">
      <ul>
        {pages.map((page) => (
          <li key={page.href}>
            <Link href={page.href} aria-current={page.current(pathname) ? 'page' : undefined}>
              {page.label}
            </Link>
          </li>
        ))}
      </ul>
    </nav>
  );
}
