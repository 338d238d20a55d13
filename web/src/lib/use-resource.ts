import { useCallback, useEffect, useState } from 'react';

export type Resource<T> = { status: 'loading' } | { status: 'error'; error: unknown } | { status: 'ready'; data: T };

/**
 * Load data for a page and keep it in state. A new `key` loads again and abandons (aborts) the
 * previous request, so a slow answer for an old search never overwrites a newer one.
 */
export function useResource<T>(key: string, load: (signal: AbortSignal) => Promise<T>) {
  const [state, setState] = useState<{ key: string; attempt: number; resource: Resource<T> }>({ key, attempt: 0, resource: { status: 'loading' } });
  const [attempt, setAttempt] = useState(0);

  useEffect(() => {
    const controller = new AbortController();
    setState({ key, attempt, resource: { status: 'loading' } });
    load(controller.signal).then(
      (data) => {
        if (!controller.signal.aborted) setState({ key, attempt, resource: { status: 'ready', data } });
      },
      (error: unknown) => {
        if (!controller.signal.aborted) setState({ key, attempt, resource: { status: 'error', error } });
      },
    );
    return () => controller.abort();
    // `load` is recreated on every render; `key` is what says it would load something new.
  }, [key, attempt]);

  const reload = useCallback(() => setAttempt((n) => n + 1), []);
  const update = useCallback((change: (data: T) => T) => {
    setState((current) => (current.resource.status === 'ready' ? { ...current, resource: { status: 'ready', data: change(current.resource.data) } } : current));
  }, []);

  // Until the effect for a new key has run, report loading rather than the old key's data.
  const resource: Resource<T> = state.key === key ? state.resource : { status: 'loading' };
  return { resource, reload, update };
}
