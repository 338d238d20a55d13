import type { Config } from './config.js';
import { buildApp } from './server/app.js';
import type { GatehouseApp } from './server/app.js';
import { createStorage } from './storage/database.js';
import type { Storage } from './storage/database.js';
import { migrateToLatest } from './storage/migrate.js';

/** Open the database named by the config and bring its schema up to date. */
export async function openStorage(config: Readonly<Config>): Promise<Storage> {
  const storage = await createStorage(config.databaseUrl, { poolSize: config.dbPoolSize, statementTimeoutMs: config.dbStatementTimeoutMs });
  try {
    await migrateToLatest(storage);
  } catch (error) {
    await storage.close();
    throw error;
  }
  return storage;
}

/** Storage, migrations and the app, ready to listen: what `serve` and the tests that start a server share. */
export async function startServer(config: Readonly<Config>): Promise<{ app: GatehouseApp; storage: Storage; address: string }> {
  const storage = await openStorage(config);
  const app = await buildApp(config, { storage });
  app.addHook('onClose', async () => storage.close());
  const address = await app.listen({ port: config.port, host: config.host });
  return { app, storage, address };
}
