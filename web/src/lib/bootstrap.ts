import type { User } from './types';

/** What the server writes into the page (a non-executable JSON script, so the CSP stays strict). */
export interface Bootstrap {
  user: User | null;
}

/** Read the bootstrap data. Absent under the Vite dev server, where the app asks /api/me instead. */
export function readBootstrap(doc: Document = document): Bootstrap {
  const element = doc.getElementById('gatehouse-data');
  if (!element?.textContent) return { user: null };
  try {
    const data = JSON.parse(element.textContent) as Partial<Bootstrap>;
    return { user: data.user ?? null };
  } catch {
    return { user: null };
  }
}
