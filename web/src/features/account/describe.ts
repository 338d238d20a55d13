import type { SignIn } from './api';

/** "Chrome on Linux" from a User-Agent header, when it says so plainly; null otherwise. */
export function deviceName(userAgent: string | null): string | null {
  if (!userAgent) return null;
  const ua = userAgent;
  const browser = /\bEdg(?:e|A|iOS)?\//.test(ua)
    ? 'Edge'
    : /\bOPR\//.test(ua)
      ? 'Opera'
      : /\b(?:Firefox|FxiOS)\//.test(ua)
        ? 'Firefox'
        : /\b(?:HeadlessChrome|Chrome|Chromium|CriOS)\//.test(ua)
          ? 'Chrome'
          : /\bVersion\/[\d.]+.*\bSafari\//.test(ua)
            ? 'Safari'
            : /^curl\//.test(ua)
              ? 'curl'
              : null;
  const system = /\b(?:iPhone|iPad|iPod)\b/.test(ua)
    ? 'iOS'
    : /\bAndroid\b/.test(ua)
      ? 'Android'
      : /\bWindows\b/.test(ua)
        ? 'Windows'
        : /\b(?:Macintosh|Mac OS X)\b/.test(ua)
          ? 'macOS'
          : /\bCrOS\b/.test(ua)
            ? 'ChromeOS'
            : /\bLinux\b/.test(ua)
              ? 'Linux'
              : null;
  if (browser && system) return `${browser} on ${system}`;
  return browser ?? system;
}

/** What a person calls a sign-in: "Browser session" or "Token login" (an app or script). */
export function kindLabel(kind: SignIn['kind']): string {
  return kind === 'browser' ? 'Browser session' : 'Token login';
}

/** A row's title: the kind and, when the user agent says it plainly, the browser and system. */
export function signInTitle(signIn: SignIn): string {
  const device = deviceName(signIn.user_agent);
  return device ? `${kindLabel(signIn.kind)}: ${device}` : kindLabel(signIn.kind);
}

const DATE_TIME = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

/** A timestamp of the API in the reader's locale and time zone. */
export function formatTime(iso: string): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : DATE_TIME.format(date);
}
