import 'dotenv/config';
import { serve } from './cli/serve.js';
import { ConfigError, loadConfig } from './config.js';

/** `npm start`: read and validate config, migrate, listen (WORKERS processes); graceful stop on SIGTERM/SIGINT. */
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`gatehouse: invalid configuration: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  await serve(config);
}

main().catch((error: unknown) => {
  process.stderr.write(`gatehouse: failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
