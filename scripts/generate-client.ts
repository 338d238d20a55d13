// `npm run client:generate`: the typed client's types (src/client/openapi.ts) from the server's
// OpenAPI document. The app is built in-process, as the tests build it, on an in-memory SQLite
// database with fixed settings (never the caller's environment or .env), so the same sources
// always give the same file: no dates, ports or random values reach the document.
// test/unit/client-types.test.ts runs the same two functions and fails when the committed file differs.
import { writeFile } from 'node:fs/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import openapiTS, { astToString, COMMENT_HEADER } from 'openapi-typescript';
import type { OpenAPI3 } from 'openapi-typescript';
import { createServices, openStorage } from '../src/composition.js';
import { loadConfig } from '../src/config.js';
import { buildApp } from '../src/server/app.js';
import { createLoggers } from '../src/server/logging.js';

/** The committed output. */
export const CLIENT_TYPES_FILE = fileURLToPath(new URL('../src/client/openapi.ts', import.meta.url));

/**
 * The settings the document is made with. Every route is on (OIDC_ENABLED's default); PUBLIC_URL
 * is the development default, so `servers` and the cookie names do not depend on the machine.
 */
const DOCUMENT_ENV: Record<string, string> = {
  NODE_ENV: 'development',
  PUBLIC_URL: 'http://127.0.0.1:3000',
  DATABASE_URL: 'sqlite::memory:',
  LOG_LEVEL: 'silent',
  HASH_CONCURRENCY: '1',
};

/** The OpenAPI document the server serves at /openapi.json, from an app that never listens. */
export async function openApiDocument(): Promise<OpenAPI3> {
  const config = loadConfig(DOCUMENT_ENV);
  const storage = await openStorage(config);
  try {
    const loggers = createLoggers(config);
    const app = await buildApp(config, createServices(config, { storage, log: loggers.log }), { loggers });
    try {
      await app.ready();
      // A deep copy: the generator must not see (or change) Fastify's own objects.
      return JSON.parse(JSON.stringify(app.swagger())) as OpenAPI3;
    } finally {
      await app.close();
    }
  } finally {
    await storage.close();
  }
}

const HEADER = `${COMMENT_HEADER.trimEnd()}
// Generated from the server's OpenAPI document by \`npm run client:generate\` (scripts/generate-client.ts).
// test/unit/client-types.test.ts fails when it no longer matches the routes' schemas.

`;

/** The TypeScript source of the document's types, with two-space indents. */
export async function renderClientTypes(document: OpenAPI3): Promise<string> {
  const ast = await openapiTS(document, { silent: true });
  const source = astToString(ast).replace(/^(?: {4})+/gm, (indent) => ' '.repeat(indent.length / 2));
  return `${HEADER}${source.trimEnd()}\n`;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const source = await renderClientTypes(await openApiDocument());
  await writeFile(CLIENT_TYPES_FILE, source);
  console.log(`client:generate: wrote ${CLIENT_TYPES_FILE}`);
}
