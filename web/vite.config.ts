import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const webRoot = fileURLToPath(new URL('.', import.meta.url));
/** Where `npm run dev` (or `npm run dev:api`) serves the API. */
const apiTarget = process.env.GATEHOUSE_API_URL ?? 'http://127.0.0.1:3000';

// Everything the server answers itself. The Host header is kept (changeOrigin: false) so the
// Origin rule sees a same-origin request: the page, the proxy and the cookies share one origin.
const serverPaths = ['/api', '/login', '/signup', '/logout', '/check_session', '/auth.css', '/.well-known', '/healthz', '/readyz', '/openapi.json', '/docs'];

export default defineConfig({
  root: webRoot,
  base: '/',
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    assetsDir: 'assets',
    // Files, never data: URLs, so the CSP can stay at 'self'.
    assetsInlineLimit: 0,
  },
  server: {
    host: '127.0.0.1',
    port: 5173,
    strictPort: true,
    proxy: Object.fromEntries(serverPaths.map((path) => [path, { target: apiTarget, changeOrigin: false }])),
  },
  preview: { host: '127.0.0.1', port: 4173 },
});
