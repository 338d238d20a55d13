import 'dotenv/config';
import { parseArgs } from 'node:util';
import { findUserByUsername, setPassword, signUp, updateAccount } from '../accounts/accounts.service.js';
import { ConfigError, loadConfig } from '../config.js';
import type { Config } from '../config.js';
import { GatehouseError } from '../errors.js';
import { createApp, openStorage } from '../runtime.js';
import type { GatehouseApp } from '../server/app.js';
import { KeyVault, PUBLISH_BEFORE_SIGNING_SECONDS, rotateSigningKey } from '../tokens/keys.js';
import { PasswordMismatchError, PromptAbortedError, readNewPassword } from './read-password.js';
import { serve } from './serve.js';

const USAGE = `Usage: gatehouse <command> [options]

Commands:
  serve [--workers N|auto]                       Start the server (same as npm start)
  migrate                                        Apply database migrations
  user create --username NAME [--email E] [--admin]
                                                 Create a user; password typed twice on a terminal,
                                                 or the first line of piped stdin
  user set-password --username NAME              Set a password (as above); ends all their sessions
  user promote|demote --username NAME            Make a user admin, or user again
  user disable|enable --username NAME            Disable (ends sessions and tokens) or re-enable
  keys rotate [--now]                            Publish a new signing key; it signs after ${PUBLISH_BEFORE_SIGNING_SECONDS / 60} min
                                                 (--now: at once, for a key that may have leaked);
                                                 old keys verify until their tokens expire

Configuration comes from the environment (and .env), as for the server.`;

class UsageError extends Error {}

async function withApp<T>(config: Readonly<Config>, work: (app: GatehouseApp) => Promise<T>): Promise<T> {
  // Built like a server (REDIS_URL included), so what a command revokes reaches running instances at once.
  const { app } = await createApp({ ...config, logLevel: 'silent' }, { logger: false });
  try {
    await app.ready();
    return await work(app);
  } finally {
    await app.close();
  }
}

function requireUsername(values: { username?: string | undefined }): string {
  if (!values.username) throw new UsageError('--username is required');
  return values.username;
}

const USER_COMMANDS = new Set(['create', 'set-password', 'promote', 'demote', 'disable', 'enable']);

async function userCommand(config: Readonly<Config>, sub: string | undefined, args: string[]): Promise<string> {
  // The sub-command first: "user frobnicate" should say so, not ask for --username.
  if (sub === undefined || !USER_COMMANDS.has(sub)) throw new UsageError(`unknown user command "${sub ?? ''}"`);
  const { values } = parseArgs({
    args,
    options: { username: { type: 'string' }, email: { type: 'string' }, admin: { type: 'boolean', default: false } },
    strict: true,
  });
  const username = requireUsername(values);
  const cli = { ip: null, userAgent: 'gatehouse-cli' };
  switch (sub) {
    case 'create': {
      const password = await readNewPassword();
      return withApp(config, async (app) => {
        const user = await signUp(app.ctx, { username, email: values.email ?? null, password }, cli, values.admin ? 'admin' : 'user');
        return `created user ${user.username} (id ${user.id}, role ${user.role})`;
      });
    }
    case 'set-password': {
      const password = await readNewPassword('New password: ', 'Repeat new password: ');
      return withApp(config, async (app) => {
        const user = await findUserByUsername(app.ctx, username);
        await setPassword(app.ctx, user.id, password, null);
        return `password set for ${user.username}; their sessions and tokens were ended`;
      });
    }
    case 'promote':
    case 'demote':
    case 'disable':
    case 'enable':
      return withApp(config, async (app) => {
        const user = await findUserByUsername(app.ctx, username);
        const patch = sub === 'promote' ? { role: 'admin' as const } : sub === 'demote' ? { role: 'user' as const } : { disabled: sub === 'disable' };
        const updated = await updateAccount(app.ctx, user.id, patch, { id: null, meta: cli });
        return `${updated.username}: role ${updated.role}, ${updated.disabled ? 'disabled' : 'enabled'}`;
      });
    default:
      throw new UsageError(`unknown user command "${sub ?? ''}"`);
  }
}

/**
 * `keys rotate`: the new key is in the JWKS at once and signs only after
 * PUBLISH_BEFORE_SIGNING_SECONDS, so verifiers holding a cached key set know it by then.
 */
async function keysCommand(config: Readonly<Config>, sub: string | undefined, args: string[]): Promise<string> {
  if (sub !== 'rotate') throw new UsageError(`unknown keys command "${sub ?? ''}"`);
  const { values } = parseArgs({ args, options: { now: { type: 'boolean', default: false } }, strict: true });
  const now = Date.now();
  const signsAfterSeconds = values.now ? 0 : PUBLISH_BEFORE_SIGNING_SECONDS;
  const verifyOldKeysForSeconds = config.accessTokenTtl + 60;
  const storage = await openStorage(config);
  try {
    const kid = await rotateSigningKey(storage.db, new KeyVault(config.keyEncryptionSecret), { alg: config.jwtAlgorithm, now, verifyOldKeysForSeconds, signsAfterSeconds });
    if (signsAfterSeconds === 0) return `new signing key ${kid}; it signs now; previous keys verify for ${verifyOldKeysForSeconds} s more`;
    const signsFrom = now + signsAfterSeconds * 1000;
    return (
      `new signing key ${kid}; published in the JWKS now, it signs from ${new Date(signsFrom).toISOString()} (in ${signsAfterSeconds / 60} min); ` +
      `previous keys sign until then and verify until ${new Date(signsFrom + verifyOldKeysForSeconds * 1000).toISOString()}`
    );
  } finally {
    await storage.close();
  }
}

async function run(argv: string[]): Promise<string | null> {
  const [command, sub, ...rest] = argv;
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    process.stdout.write(`${USAGE}\n`);
    return null;
  }
  const config = loadConfig();
  switch (command) {
    case 'serve': {
      const { values } = parseArgs({ args: argv.slice(1), options: { workers: { type: 'string' } }, strict: true });
      const workers = values.workers === undefined ? config.workers : loadConfig({ ...process.env, WORKERS: values.workers }).workers;
      await serve({ ...config, workers });
      return null;
    }
    case 'migrate': {
      const storage = await openStorage(config);
      await storage.close();
      return 'migrations applied';
    }
    case 'user':
      return userCommand(config, sub, rest);
    case 'keys':
      return keysCommand(config, sub, rest);
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}

run(process.argv.slice(2)).then(
  (message) => {
    if (message) process.stdout.write(`${message}\n`);
  },
  (error: unknown) => {
    if (error instanceof UsageError || (error instanceof TypeError && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS'))) {
      // One line, as every CLI error: the full usage is one `gatehouse help` away.
      process.stderr.write(`gatehouse: ${oneLine(error.message)} (see "gatehouse help")\n`);
      process.exit(64);
    }
    if (error instanceof PromptAbortedError || error instanceof PasswordMismatchError) {
      process.stderr.write(`gatehouse: ${error.message}\n`);
      process.exit(error instanceof PromptAbortedError ? error.exitCode : 1);
    }
    if (error instanceof ConfigError) {
      process.stderr.write(`gatehouse: invalid configuration: ${error.message}\n`);
      process.exit(2);
    }
    if (error instanceof GatehouseError) {
      const fields = (error as GatehouseError & { fields?: Record<string, string> }).fields;
      process.stderr.write(`gatehouse: ${fields ? Object.values(fields).join(' ') : error.message}\n`);
      process.exit(1);
    }
    process.stderr.write(`gatehouse: ${oneLine(error instanceof Error ? error.message : String(error))}\n`);
    process.exit(1);
  },
);
