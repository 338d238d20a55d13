import { StrictMode } from 'react';
import { flushSync } from 'react-dom';
import { createRoot } from 'react-dom/client';
import { App } from './app/App';
import { SessionContext } from './features/auth/session';
import { api } from './lib/api';
import { readBootstrap } from './lib/bootstrap';
import type { User } from './lib/types';
import './styles.css';

/**
 * The server already sent this page with the greeting written in and the user as JSON; the app
 * takes the page over from here. Under the Vite dev server there is no such data: ask /api/me,
 * and send a visitor without a session to the login page, as the server would.
 */
async function currentUser(): Promise<User | null> {
  const { user } = readBootstrap();
  if (user) return user;
  // Not through call(): a visitor who never logged in is sent to log in, not told their session ended.
  const { data, response } = await api.GET('/api/me');
  if (response.status === 401) {
    const here = window.location.pathname + window.location.search;
    window.location.assign(here === '/' ? '/login' : `/login?next=${encodeURIComponent(here)}`);
    return null;
  }
  if (!data) throw new Error(`GET /api/me: ${response.status}`);
  return data;
}

const FOCUSABLE = 'a[href], button, input, select, textarea, [tabindex]';

/** Which focusable element of the server-rendered page has focus, by position (-1: none). */
function focusedPosition(container: HTMLElement): number {
  const active = document.activeElement;
  if (!active || active === document.body || !container.contains(active)) return -1;
  return Array.from(container.querySelectorAll(FOCUSABLE)).indexOf(active);
}

/**
 * Replace the server-rendered page with the app. Someone may already have tabbed into the page:
 * the app renders the same header in the same order, so focus moves to the element in the same
 * position instead of being dropped to the top of the document.
 */
function takeOver(container: HTMLElement, user: User): void {
  const position = focusedPosition(container);
  const root = createRoot(container);
  flushSync(() =>
    root.render(
      <StrictMode>
        <SessionContext.Provider value={user}>
          <App />
        </SessionContext.Provider>
      </StrictMode>,
    ),
  );
  if (position >= 0) container.querySelectorAll<HTMLElement>(FOCUSABLE)[position]?.focus();
}

const container = document.getElementById('root');
if (container) {
  currentUser().then(
    (user) => {
      if (user) takeOver(container, user);
    },
    () => {
      // Keep the server-rendered page: it works without the app.
    },
  );
}
