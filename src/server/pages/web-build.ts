import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../../paths.js';

/** Where `vite build` writes the web app (see web/vite.config.ts). */
export const DEFAULT_WEB_DIST = join(PACKAGE_ROOT, 'web/dist');

/** Markers in web/index.html that the server fills for each page. */
export const APP_HTML_MARKER = '<!--gatehouse:app-->';
export const APP_DATA_MARKER = '<!--gatehouse:data-->';
/** The login page's script in the build: a fixed name (see web/vite.config.ts). */
export const LOGIN_SCRIPT = 'login-passkey.js';

/**
 * The built web app on disk. `index.html` is read when first needed and again whenever it changes
 * (a `vite build --watch` in another terminal), so the server never serves a stale shell and
 * starting the server before the build is not fatal.
 */
export class WebBuild {
  private cached: { mtimeMs: number; html: string } | null = null;

  constructor(readonly dir: string = DEFAULT_WEB_DIST) {}

  get assetsDir(): string {
    return join(this.dir, 'assets');
  }

  /** The login page's script (web/src/login-passkey.ts, built as login-passkey.js), or null without a build. */
  async loginScript(): Promise<string | null> {
    try {
      return await readFile(join(this.dir, LOGIN_SCRIPT), 'utf8');
    } catch {
      return null;
    }
  }

  /** The built index.html, or null when there is no usable build. */
  async indexHtml(): Promise<string | null> {
    const file = join(this.dir, 'index.html');
    try {
      const { mtimeMs } = await stat(file);
      if (this.cached?.mtimeMs === mtimeMs) return this.cached.html;
      const html = await readFile(file, 'utf8');
      if (!html.includes(APP_HTML_MARKER) || !html.includes(APP_DATA_MARKER)) return null;
      this.cached = { mtimeMs, html };
      return html;
    } catch {
      this.cached = null;
      return null;
    }
  }
}
