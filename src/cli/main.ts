import 'dotenv/config';
import { parseArgs } from 'node:util';
import { NO_REQUEST } from '../audit/request-meta.js';
import type { ServiceLog, Services } from '../composition.js';
import { ConfigError, databaseLabel, loadConfig } from '../config.js';
import type { Config } from '../config.js';
import { GatehouseError } from '../errors.js';
import { newClientJson } from '../oidc/client-json.js';
import { PUBLISH_BEFORE_SIGNING_SECONDS } from '../tokens/key-timing.js';
import { PasswordMismatchError, PromptAbortedError, readNewPassword } from './read-password.js';

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
  oidc-client create --name N --redirect-uri U [--public] [--first-party]
                                                 Register an app with the OpenID Connect provider;
                                                 prints its client_id (and secret, shown once) as JSON

Configuration comes from the environment (and .env), as for the server.`;

/** `gatehouse <command> [<sub-command>] --help`: the most specific text that exists is shown. */
const HELP: Record<string, string> = {
  serve: `Usage: gatehouse serve [--workers N|auto]

Start the server, as npm start does: migrate the database, then listen on HOST:PORT.
  --workers N|auto   processes sharing the port (default: WORKERS, 1); auto = one per core`,
  migrate: `Usage: gatehouse migrate

Apply the database migrations to DATABASE_URL (the server also does this when it starts).`,
  user: `Usage: gatehouse user <command> --username NAME [options]

  create --username NAME [--email E] [--admin]   create a user (the first admin comes from here)
  set-password --username NAME                   set a password; ends all their sessions and tokens
  promote|demote --username NAME                 make a user admin, or user again
  disable|enable --username NAME                 disable (ends sessions and tokens) or re-enable

Passwords are typed twice on a terminal (never echoed), or read as the first line of piped stdin.
"gatehouse user <command> --help" describes one command.`,
  'user create': `Usage: gatehouse user create --username NAME [--email E] [--admin]

Create a user with a password typed twice on a terminal, or the first line of piped stdin.
  --admin   make the user an admin (how the first admin is made)
Example: npx gatehouse user create --username admin --admin`,
  'user set-password': `Usage: gatehouse user set-password --username NAME

Set a user's password (typed twice on a terminal, or the first line of piped stdin). Every
session and token login of the user ends, on every instance.`,
  'user promote': `Usage: gatehouse user promote --username NAME

Make the user an admin.`,
  'user demote': `Usage: gatehouse user demote --username NAME

Make the admin a user again (refused for the last active admin).`,
  'user disable': `Usage: gatehouse user disable --username NAME

Disable the user: their sessions and tokens end at once (refused for the last active admin).`,
  'user enable': `Usage: gatehouse user enable --username NAME

Let a disabled user log in again (their old sessions stay ended).`,
  keys: `Usage: gatehouse keys rotate [--now]

Manage the keys that sign access tokens. "gatehouse keys rotate --help" describes rotation.`,
  'keys rotate': `Usage: gatehouse keys rotate [--now]

Publish a new signing key in the JWKS at once; it starts signing after ${PUBLISH_BEFORE_SIGNING_SECONDS / 60} minutes, so verifiers
that cache the key set already know it. Old keys verify until their tokens expire.
  --now   sign with the new key at once (for a key that may have leaked)

With the OpenID Connect provider on (OIDC_ENABLED), its ID token key (RS256) is rotated alongside.`,
  'oidc-client': `Usage: gatehouse oidc-client create --name N --redirect-uri U [options]

Manage the apps that sign in with Gatehouse through OpenID Connect. "gatehouse oidc-client create --help" describes it.`,
  'oidc-client create': `Usage: gatehouse oidc-client create --name N --redirect-uri U [options]

Register an app with the OpenID Connect provider and print it as JSON (the admin API's answer):
its client_id and, for a confidential client, its client_secret — shown this once, stored hashed.
  --name N                        the app's name, shown on the sign-in and consent pages
  --redirect-uri U                an exact redirect URI (repeat for several)
  --post-logout-redirect-uri U    where RP-initiated logout may return (repeatable)
  --public                        a public client (token_endpoint_auth_method none: PKCE, no secret)
  --first-party                   your own app: users are never asked for consent
Example: npx gatehouse oidc-client create --name Grafana --redirect-uri https://grafana.example.com/login/generic_oauth`,
};

class UsageError extends Error {}

/** The CLI's own log for the services: warnings only, one line each on stderr. */
const CLI_LOG: ServiceLog = {
  info() {},
  warn(_details, message) {
    process.stderr.write(`gatehouse: ${message}\n`);
  },
};

/**
 * The database a command works on, named in its one line of output (success or error), so an
 * operator who ran it without the server's environment sees at once that it was the wrong one.
 */
let databaseInUse: string | null = null;

function announceDatabase(config: Readonly<Config>): void {
  databaseInUse = databaseLabel(config.databaseUrl);
}

function withDatabase(line: string): string {
  return databaseInUse === null ? line : `${line} [database ${databaseInUse}]`;
}

/** The services, built like a server's (REDIS_URL included): what a command revokes reaches running instances at once. */
async function withCliServices<T>(config: Readonly<Config>, work: (services: Services) => Promise<T>): Promise<T> {
  announceDatabase(config);
  const { withServices } = await import('../composition.js');
  return withServices(config, CLI_LOG, work);
}

/**
 * The server and the services are loaded only by the commands that use them, so `--help` and a
 * usage error answer at once instead of loading all of Gatehouse first.
 */
const openStorage = async (config: Readonly<Config>) => (await import('../composition.js')).openStorage(config);

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
      return withCliServices(config, async ({ accounts }) => {
        // The operator vouches for an address given here: it is stored verified.
        const user = await accounts.signUp({ username, email: values.email ?? null, password }, cli, values.admin ? 'admin' : 'user', { byOperator: true });
        return `created user ${user.username} (id ${user.id}, role ${user.role})`;
      });
    }
    case 'set-password': {
      const password = await readNewPassword('New password: ', 'Repeat new password: ');
      return withCliServices(config, async ({ accounts }) => {
        const user = await accounts.findByUsername(username);
        await accounts.setPassword(user.id, password, { id: null, meta: cli });
        return `password set for ${user.username}; their sessions and tokens were ended`;
      });
    }
    case 'promote':
    case 'demote':
    case 'disable':
    case 'enable':
      return withCliServices(config, async ({ accounts }) => {
        const user = await accounts.findByUsername(username);
        const patch = sub === 'promote' ? { role: 'admin' as const } : sub === 'demote' ? { role: 'user' as const } : { disabled: sub === 'disable' };
        const updated = await accounts.updateAccount(user.id, patch, { id: null, meta: cli });
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
  announceDatabase(config);
  const storage = await openStorage(config);
  const { KeyVault, rotateSigningKey } = await import('../tokens/keys.js');
  const { oidcKeyOverlapSeconds } = await import('../oidc/provider.js');
  try {
    const vault = new KeyVault(config.keyEncryptionSecret);
    const kid = await rotateSigningKey(storage.db, vault, { alg: config.jwtAlgorithm, now, verifyOldKeysForSeconds, signsAfterSeconds });
    // The OpenID Connect provider's ID token key rotates with it (the running servers pick it up without a restart).
    const idTokenKid = config.oidcEnabled
      ? await rotateSigningKey(storage.db, vault, { alg: 'RS256', purpose: 'oidc', now, verifyOldKeysForSeconds: oidcKeyOverlapSeconds(config), signsAfterSeconds })
      : null;
    const idTokenLine = idTokenKid === null ? '' : `; new ID token signing key ${idTokenKid} (RS256), on the same schedule`;
    if (signsAfterSeconds === 0) return `new signing key ${kid}; it signs now; previous keys verify for ${verifyOldKeysForSeconds} s more${idTokenLine}`;
    const signsFrom = now + signsAfterSeconds * 1000;
    return (
      `new signing key ${kid}; published in the JWKS now, it signs from ${new Date(signsFrom).toISOString()} (in ${signsAfterSeconds / 60} min); ` +
      `previous keys sign until then and verify until ${new Date(signsFrom + verifyOldKeysForSeconds * 1000).toISOString()}${idTokenLine}`
    );
  } finally {
    await storage.close();
  }
}

/**
 * `oidc-client create`: the admin API's POST /api/admin/oidc/clients through the services (no HTTP
 * server), its 201 body printed as JSON on stdout — and nothing else there, so it can be piped.
 */
async function oidcClientCommand(config: Readonly<Config>, sub: string | undefined, args: string[]): Promise<null> {
  if (sub !== 'create') throw new UsageError(`unknown oidc-client command "${sub ?? ''}"`);
  const { values } = parseArgs({
    args,
    options: {
      name: { type: 'string' },
      'redirect-uri': { type: 'string', multiple: true },
      'post-logout-redirect-uri': { type: 'string', multiple: true },
      public: { type: 'boolean', default: false },
      'first-party': { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (!values.name) throw new UsageError('--name is required');
  if (!values['redirect-uri']?.length) throw new UsageError('--redirect-uri is required');
  if (!config.oidcEnabled) throw new Error('the OpenID Connect provider is off (OIDC_ENABLED=false): there are no apps to register');
  const created = await withCliServices(config, ({ oidc }) =>
    oidc.clients.create({
      clientName: values.name ?? '',
      redirectUris: values['redirect-uri'] ?? [],
      postLogoutRedirectUris: values['post-logout-redirect-uri'] ?? [],
      tokenEndpointAuthMethod: values.public ? 'none' : 'client_secret_basic',
      firstParty: values['first-party'],
    }, { adminId: null, meta: NO_REQUEST }),
  );
  process.stdout.write(`${JSON.stringify(newClientJson(created), null, 2)}\n`);
  return null;
}

/** The help text for `argv` when it asks for help (`--help`/`-h` anywhere), else null. */
function helpFor(argv: string[]): string | null {
  const [command, sub] = argv;
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') return USAGE;
  if (!argv.includes('--help') && !argv.includes('-h')) return null;
  return (sub !== undefined && HELP[`${command} ${sub}`]) || HELP[command] || USAGE;
}

async function run(argv: string[]): Promise<string | null> {
  const [command, sub, ...rest] = argv;
  const help = helpFor(argv);
  if (help !== null) {
    process.stdout.write(`${help}\n`);
    return null;
  }
  const config = loadConfig();
  switch (command) {
    case 'serve': {
      const { values } = parseArgs({ args: argv.slice(1), options: { workers: { type: 'string' } }, strict: true });
      const workers = values.workers === undefined ? config.workers : loadConfig({ ...process.env, WORKERS: values.workers }).workers;
      const { serve } = await import('./serve.js');
      await serve({ ...config, workers });
      return null;
    }
    case 'migrate': {
      announceDatabase(config);
      const storage = await openStorage(config);
      await storage.close();
      return 'migrations applied';
    }
    case 'user':
      return userCommand(config, sub, rest);
    case 'keys':
      return keysCommand(config, sub, rest);
    case 'oidc-client':
      return oidcClientCommand(config, sub, rest);
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}

run(process.argv.slice(2)).then(
  (message) => {
    if (message) process.stdout.write(`${withDatabase(message)}\n`);
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
      process.stderr.write(`gatehouse: ${withDatabase(fields ? Object.values(fields).join(' ') : error.message)}\n`);
      process.exit(1);
    }
    process.stderr.write(`gatehouse: ${withDatabase(oneLine(error instanceof Error ? error.message : String(error)))}\n`);
    process.exit(1);
  },
);
