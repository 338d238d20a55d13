export { formatTime, deviceName } from '../account/describe';

/** "login_failed" → "Login failed". */
export function eventLabel(event: string): string {
  const words = event.replace(/_/g, ' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}

export function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** A page number from the address: 1 unless it is a plain positive number. */
export function pageNumber(value: string | null): number {
  return value && /^[1-9][0-9]{0,5}$/.test(value) ? Number(value) : 1;
}

/** An address with a query, leaving out empty values and page 1. */
export function hrefWithQuery(path: string, query: Record<string, string | number | undefined>): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || value === '' || (key === 'page' && value === 1)) continue;
    params.set(key, String(value));
  }
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}

/** An audit row's detail as short text: `key: value` pairs. */
export function detailText(detail: Record<string, unknown> | null): string {
  if (!detail) return '';
  return Object.entries(detail)
    .map(([key, value]) => `${key}: ${typeof value === 'string' ? value : JSON.stringify(value)}`)
    .join(', ');
}
