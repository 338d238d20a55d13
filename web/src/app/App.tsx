import { useEffect, useRef } from 'react';
import { AccountPage } from '../features/account/AccountPage';
import { BucketlistPage } from '../features/bucketlists/BucketlistPage';
import { BucketlistsPage } from '../features/bucketlists/BucketlistsPage';
import { HomePage } from '../features/home/HomePage';
import { useLocation } from '../lib/router';
import { Layout } from './Layout';
import { NotFoundPage } from './NotFoundPage';
import { matchRoute } from './routes';

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
  const route = matchRoute(pathname);
  return (
    <Layout>
      {route.name === 'home' ? <HomePage /> : null}
      {route.name === 'bucketlists' ? <BucketlistsPage /> : null}
      {route.name === 'bucketlist' ? <BucketlistPage key={route.id} id={route.id} /> : null}
      {route.name === 'account' ? <AccountPage /> : null}
      {route.name === 'not-found' ? <NotFoundPage /> : null}
    </Layout>
  );
}
