import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';
import type { Plugin } from 'vite';

const webRoot = fileURLToPath(new URL('.', import.meta.url));
/** Where `npm run dev` (or `npm run dev:api`) serves the API. */
const apiTarget = process.env.GATEHOUSE_API_URL ?? 'http://127.0.0.1:3000';

/**
 * The login page is the server's (src/server/pages/auth-pages.ts); its one script, the passkey
 * button, is built here as `login-passkey.js` (a fixed name the page can name; what it imports is
 * hashed as usual). In development the Vite server answers that name with the source.
 */
const LOGIN_SCRIPT = 'login-passkey';
const loginScriptInDev: Plugin = {
  name: 'gatehouse-login-script',
  configureServer(server) {
    server.middlewares.use((request, _response, next) => {
      if (request.url === `/${LOGIN_SCRIPT}.js`) request.url = `/src/${LOGIN_SCRIPT}.ts`;
      next();
    });
  },
};

// Everything the server answers itself. The Host header is kept (changeOrigin: false) so the
// Origin rule sees a same-origin request: the page, the proxy and the cookies share one origin.
const serverPaths = ['/api', '/login', '/signup', '/logout', '/check_session', '/auth.css', '/.well-known', '/healthz', '/readyz', '/openapi.json', '/docs', '/verify-email', '/email', '/password'];

export default defineConfig(({ command }) => {
  // A build is always the production build, whatever NODE_ENV the shell has: `NODE_ENV=test npm
  // start` must not serve React's development bundle (twice the size, dev-only behaviour). Vite
  // and the React plugin read NODE_ENV itself, not only the mode, so set it for this process.
  if (command === 'build') process.env.NODE_ENV = 'production';
  return {
    root: webRoot,
    base: '/',
    mode: command === 'build' ? 'production' : 'development',
    plugins: [react(), loginScriptInDev],
    build: {
      outDir: 'dist',
      // Not emptied first: a running server (or a parallel test) keeps finding index.html and the
      // assets it names while a rebuild writes the new ones; old hashed files stay until removed.
      emptyOutDir: false,
      assetsDir: 'assets',
      // Files, never data: URLs, so the CSP can stay at 'self'.
      assetsInlineLimit: 0,
      rolldownOptions: {
        input: { index: `${webRoot}index.html`, [LOGIN_SCRIPT]: `${webRoot}src/${LOGIN_SCRIPT}.ts` },
        output: { entryFileNames: (chunk) => (chunk.name === LOGIN_SCRIPT ? `${LOGIN_SCRIPT}.js` : 'assets/[name]-[hash].js') },
      },
    },
    server: {
      host: '127.0.0.1',
      port: 5173,
      strictPort: true,
      proxy: Object.fromEntries(serverPaths.map((path) => [path, { target: apiTarget, changeOrigin: false }])),
    },
    preview: { host: '127.0.0.1', port: 4173 },
  };
});
