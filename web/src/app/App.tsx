import { useEffect, useRef } from 'react';
import { AccountPage } from '../features/account/AccountPage';
import { AdminAppsPage } from '../features/admin/AdminAppsPage';
import { AdminAuditPage } from '../features/admin/AdminAuditPage';
import { AdminDashboardPage } from '../features/admin/AdminDashboardPage';
import { AdminUserPage } from '../features/admin/AdminUserPage';
import { AdminUsersPage } from '../features/admin/AdminUsersPage';
import { useUser } from '../features/auth/session';
import { BucketlistPage } from '../features/bucketlists/BucketlistPage';
import { BucketlistsPage } from '../features/bucketlists/BucketlistsPage';
import { HomePage } from '../features/home/HomePage';
import { useLocation } from '../lib/router';
import { Layout } from './Layout';
import { NotFoundPage } from './NotFoundPage';
import { isAdminRoute, matchRoute } from './routes';

/** After a client-side navigation, focus the new page's heading so screen readers announce it. */
function useFocusOnNavigation(pathname: string): void {
  const previous = useRef(pathname);
  useEffect(() => {
    if (previous.current === pathname) return;
    previous.current = pathname;
    document.querySelector<HTMLElement>('#main h1')?.focus();
  }, [pathname]);
}

export function App() {
  const { pathname } = useLocation();
  useFocusOnNavigation(pathname);
  const user = useUser();
  const matched = matchRoute(pathname);
  // The admin console is for admins only: anyone else gets the not-found page (and 403 from its API).
  const route = isAdminRoute(matched) && user.role !== 'admin' ? ({ name: 'not-found' } as const) : matched;
  return (
    <Layout>
      {route.name === 'home' ? <HomePage /> : null}
      {route.name === 'bucketlists' ? <BucketlistsPage /> : null}
      {route.name === 'bucketlist' ? <BucketlistPage key={route.id} id={route.id} /> : null}
      {route.name === 'account' ? <AccountPage /> : null}
      {route.name === 'admin' ? <AdminDashboardPage /> : null}
      {route.name === 'admin-users' ? <AdminUsersPage /> : null}
      {route.name === 'admin-user' ? <AdminUserPage key={route.id} id={route.id} /> : null}
      {route.name === 'admin-audit' ? <AdminAuditPage /> : null}
      {route.name === 'admin-apps' ? <AdminAppsPage /> : null}
      {route.name === 'not-found' ? <NotFoundPage /> : null}
    </Layout>
  );
}
