import { useEffect } from 'react';

/** Every page has its own title (WCAG 2.4.2), also after client-side navigation. */
export function useDocumentTitle(title: string): void {
  useEffect(() => {
    document.title = `${title} · Gatehouse`;
  }, [title]);
}
