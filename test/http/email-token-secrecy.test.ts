/**
 * The raw token of a mailed link is only in the mail (and on the page its link opens): never in the
 * database, a log line or another answer (contract v1.2, "Mail").
 *
 * A server with LOG_LEVEL=debug and ACCESS_LOG=on, its log captured (the application log and a
 * separate access log, as a serving process has), mails its links to a real SMTP server. Each kind
 * of link — verification, password reset, email change — is followed as a browser does (GET page,
 * form POST) and as an API client does (JSON POST), with failures on the way (a 422 on the new
 * password, a spent token, a token put in a POST's query string by mistake). Then every form of each
 * token — as sent, percent-encoded, its 32 bytes raw, in hex and in standard base64, and a 16-character
 * slice of either end — is searched for in:
 *
 * - the database. On SQLite (the default) the database file itself is read byte by byte, with its
 *   -wal and -shm files: so rows, free pages and the write-ahead log all count. When
 *   TEST_DATABASE_URL is PostgreSQL (the test/http pass on PostgreSQL; scripts/test.mjs has no way
 *   for an http file to opt out of it), the files are not ours to read: every column of every table
 *   is read instead, as text.
 * - every captured log line;
 * - every answer of every route called (bodies and headers), except the link pages themselves and
 *   a reset form shown again, which carry the token by design. Every JSON answer is checked.
 *
 * Positive controls keep the searches honest: each token is found in exactly one mail, a live
 * link's SHA-256 and a username are found in the database, and the access log holds the paths.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { pino } from 'pino';
import { loadConfig } from '../../src/config.js';
import type { Config } from '../../src/config.js';
import { createServices, openStorage } from '../../src/composition.js';
import type { Services } from '../../src/composition.js';
import { buildApp } from '../../src/server/app.js';
import type { GatehouseApp } from '../../src/server/app.js';
import { createLoggers } from '../../src/server/logging.js';
import type { Storage } from '../../src/storage/database.js';
import { GOOD_PASSWORD, TEST_OUTPUT, uniqueName } from '../helpers/app.js';
import { createTestDatabase, isPostgresUrl } from '../helpers/database.js';
import type { TestDatabase } from '../helpers/database.js';
import { TestClient } from '../helpers/http.js';
import type { TestResponse } from '../helpers/http.js';
import { startSmtpServer, until } from '../helpers/smtp.js';
import type { ReceivedMail, TestSmtpServer } from '../helpers/smtp.js';

const PUBLIC_URL = 'http://auth.gatehouse.test';
const NEW_PASSWORD = 'a brand new battery staple';

/** Every way a token could have been written down. */
function formsOf(token: string): Array<{ name: string; bytes: Buffer }> {
  const raw = Buffer.from(token, 'base64url');
  const everyBytePercent = [...Buffer.from(token, 'utf8')].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('');
  const text = new Map<string, string>([
    ['as sent', token],
    ['percent-encoded', encodeURIComponent(token)],
    ['every byte percent-encoded', everyBytePercent],
    ['every byte percent-encoded (upper case)', everyBytePercent.toUpperCase()],
    ['hex of its bytes', raw.toString('hex')],
    ['standard base64 of its bytes', raw.toString('base64')],
    ['standard base64, unpadded', raw.toString('base64').replace(/=+$/, '')],
    ['its first 16 characters', token.slice(0, 16)],
    ['its last 16 characters', token.slice(-16)],
  ]);
  return [...[...text].map(([name, value]) => ({ name, bytes: Buffer.from(value, 'utf8') })), { name: 'its 32 raw bytes', bytes: raw }];
}

/** Where in `haystack` some form of some token is, as "kind: form", or [] when nowhere. */
function findTokens(haystack: Buffer, tokens: ReadonlyMap<string, string>): string[] {
  const found: string[] = [];
  for (const [label, token] of tokens) {
    for (const form of formsOf(token)) if (haystack.includes(form.bytes)) found.push(`${label}: ${form.name}`);
  }
  return found;
}

interface Recorded {
  what: string;
  status: number;
  contentType: string;
  /** The body and every header, as one text to search. */
  text: string;
  /** A link page (or the reset form shown again): the one answer that carries the token. */
  mayShowToken: boolean;
}

describe('a mailed token is only in the mail', () => {
  let smtp: TestSmtpServer;
  let database: TestDatabase;
  let config: Readonly<Config>;
  let storage: Storage;
  let services: Services;
  let app: GatehouseApp;
  let url: string;
  let closed = false;
  const logLines: string[] = [];
  const answers: Recorded[] = [];
  /** label → raw token, for every token mailed (and a few made up, sent where tokens do not belong). */
  const tokens = new Map<string, string>();
  /** Tokens of links never followed: their hashes must be in the database. */
  const liveTokens: string[] = [];
  const usernames: string[] = [];

  before(async () => {
    smtp = await startSmtpServer();
    database = await createTestDatabase(process.env.TEST_DATABASE_URL, TEST_OUTPUT);
    config = loadConfig({
      NODE_ENV: 'test',
      BCRYPT_COST: '4',
      DATABASE_URL: database.url,
      PORT: '0',
      PUBLIC_URL,
      LOG_LEVEL: 'debug',
      ACCESS_LOG: 'on',
      SMTP_URL: smtp.url,
      RATE_LIMIT_PER_IP: '100000',
    });
    storage = await openStorage(config);
    const stream = { write: (line: string) => void logLines.push(line) };
    // As a serving process has them: the application log (createLoggers, secrets redacted) and an
    // access log of its own (createLoggers makes one only when writing to stdout).
    const loggers = { log: createLoggers(config, stream).log, access: pino({ level: config.logLevel }, stream) };
    services = createServices(config, { storage, log: loggers.log });
    app = await buildApp(config, services, { loggers });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const address = app.server.address();
    url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  });

  async function closeServer(): Promise<void> {
    if (closed) return;
    closed = true;
    await app.close();
    await storage.close();
  }
  after(async () => {
    await closeServer();
    await database.drop();
    await smtp.close();
  });

  const client = () => new TestClient(url);

  async function record<T>(what: string, pending: Promise<TestResponse<T>>, mayShowToken = false): Promise<TestResponse<T>> {
    const res = await pending;
    const headers = [...res.headers].map(([k, v]) => `${k}: ${v}`).join('\n');
    answers.push({ what, status: res.status, contentType: res.headers.get('content-type') ?? '', text: `${headers}\n\n${res.text}`, mayShowToken });
    return res;
  }

  function mailsTo(address: string, subject: string): ReceivedMail[] {
    return smtp.received.filter((m) => m.envelope.to.includes(address) && m.parsed.subject === subject);
  }

  /** The token of the `count`-th mail with `subject` to `address`, its link PUBLIC_URL + path + ?token=. */
  async function mailedToken(label: string, address: string, subject: string, path: string, count = 1): Promise<string> {
    await until(() => mailsTo(address, subject).length >= count, `mail #${count} "${subject}" to ${address}`);
    const text = mailsTo(address, subject)[count - 1]?.parsed.text ?? '';
    const prefix = `${PUBLIC_URL}${path}?token=`;
    const line = text.split('\n').find((l) => l.startsWith(prefix));
    assert.ok(line, `a link to ${path} in: ${text}`);
    const token = line.slice(prefix.length).trim();
    assert.match(token, /^[A-Za-z0-9_-]{43}$/);
    tokens.set(label, token);
    return token;
  }

  async function signUp(prefix: string): Promise<{ browser: TestClient; username: string; email: string }> {
    const browser = client();
    const username = uniqueName(prefix);
    const email = `${username}@example.com`.toLowerCase();
    const res = await record('POST /signup', browser.post('/signup', { username, password: GOOD_PASSWORD, email }));
    assert.equal(res.status, 201, res.text);
    usernames.push(username);
    return { browser, username, email };
  }

  /** GET a link page as a browser does; it must be the live page. */
  async function openLink(browser: TestClient, path: string, token: string): Promise<void> {
    const page = await record(`GET ${path}`, browser.get(`${path}?token=${token}`), true);
    assert.equal(page.status, 200, page.text);
  }

  it('verification links: followed by the form and by JSON, then replayed', async () => {
    const viaForm = await signUp('vform');
    const formToken = await mailedToken('verification (form)', viaForm.email, 'Confirm your email address', '/verify-email');
    await openLink(viaForm.browser, '/verify-email', formToken);
    const posted = await record('POST /email/verify (form)', viaForm.browser.request('POST', '/email/verify', { form: { csrf_token: viaForm.browser.csrf ?? '', token: formToken } }));
    assert.equal(posted.status, 303);
    assert.equal((await record('GET /verify-email (spent)', client().get(`/verify-email?token=${formToken}`))).status, 401);
    assert.equal((await record('POST /email/verify (spent)', client().post('/email/verify', { token: formToken }))).status, 401);

    const viaJson = await signUp('vjson');
    await mailedToken('verification (first, voided)', viaJson.email, 'Confirm your email address', '/verify-email');
    assert.equal((await record('POST /api/me/email/verification', viaJson.browser.send('POST', '/api/me/email/verification', {}))).status, 202);
    const jsonToken = await mailedToken('verification (JSON)', viaJson.email, 'Confirm your email address', '/verify-email', 2);
    await openLink(client(), '/verify-email', jsonToken);
    const verified = await record('POST /email/verify (JSON)', client().post<{ email_verified: boolean }>('/email/verify', { token: jsonToken }));
    assert.equal(verified.status, 200, verified.text);
    assert.equal(verified.body.email_verified, true);

    // One left unfollowed: its hash must be in the database, its token must not.
    const live = await signUp('vlive');
    liveTokens.push(await mailedToken('verification (live)', live.email, 'Confirm your email address', '/verify-email'));
  });

  it('password reset links: the form (with a 422 on the way) and JSON', async () => {
    const viaForm = await signUp('rform');
    const forgotPage = await record('GET /password/forgot', viaForm.browser.get('/password/forgot'));
    assert.equal(forgotPage.status, 200);
    const sent = await record('POST /password/forgot (form)', viaForm.browser.request('POST', '/password/forgot', { form: { csrf_token: viaForm.browser.csrf ?? '', email: viaForm.email } }));
    assert.equal(sent.status, 200);
    const formToken = await mailedToken('reset (form)', viaForm.email, 'Reset your password', '/password/reset');
    await openLink(viaForm.browser, '/password/reset', formToken);
    const form = { csrf_token: viaForm.browser.csrf ?? '', token: formToken };
    const again = await record('POST /password/reset (form, 422)', viaForm.browser.request('POST', '/password/reset', { form: { ...form, password: 'short', password_confirmation: 'short' } }), true);
    assert.equal(again.status, 422);
    const done = await record('POST /password/reset (form)', viaForm.browser.request('POST', '/password/reset', { form: { ...form, password: NEW_PASSWORD, password_confirmation: NEW_PASSWORD } }));
    assert.equal(done.status, 303, done.text);

    const viaJson = await signUp('rjson');
    assert.equal((await record('POST /password/forgot (JSON)', client().post('/password/forgot', { email: viaJson.email }))).status, 202);
    const jsonToken = await mailedToken('reset (JSON)', viaJson.email, 'Reset your password', '/password/reset');
    await openLink(client(), '/password/reset', jsonToken);
    assert.equal((await record('POST /password/reset (JSON, 422)', client().post('/password/reset', { token: jsonToken, password: 'short' }))).status, 422);
    assert.equal((await record('POST /password/reset (JSON, mismatch)', client().post('/password/reset', { token: jsonToken, password: NEW_PASSWORD, password_confirmation: 'not the same one' }))).status, 422);
    assert.equal((await record('POST /password/reset (JSON)', client().post('/password/reset', { token: jsonToken, password: NEW_PASSWORD }))).status, 204);
    // Replayed, and put in a query string by mistake.
    assert.equal((await record('POST /password/reset (spent)', client().post(`/password/reset?token=${jsonToken}`, { token: jsonToken, password: NEW_PASSWORD }))).status, 401);
    assert.equal((await record('GET /password/reset (spent)', client().get(`/password/reset?token=${jsonToken}`))).status, 401);

    const live = await signUp('rlive');
    assert.equal((await record('POST /password/forgot (live)', client().post('/password/forgot', { email: live.email }))).status, 202);
    liveTokens.push(await mailedToken('reset (live)', live.email, 'Reset your password', '/password/reset'));
  });

  it('email change links: the form and JSON', async () => {
    for (const how of ['form', 'JSON'] as const) {
      const user = await signUp(`c${how.toLowerCase()}`);
      const newEmail = `${uniqueName('new')}@example.com`.toLowerCase();
      const asked = await record('POST /api/me/email', user.browser.send<{ pending_email: string }>('POST', '/api/me/email', { email: newEmail }));
      assert.equal(asked.status, 202, asked.text);
      assert.deepEqual(asked.body, { pending_email: newEmail });
      const token = await mailedToken(`email change (${how})`, newEmail, 'Confirm your new email address', '/email/confirm');
      await openLink(user.browser, '/email/confirm', token);
      if (how === 'form') {
        const res = await record('POST /email/confirm (form)', user.browser.request('POST', '/email/confirm', { form: { csrf_token: user.browser.csrf ?? '', token } }));
        assert.equal(res.status, 303, res.text);
      } else {
        const res = await record('POST /email/confirm (JSON)', client().post<{ email: string }>('/email/confirm', { token }));
        assert.equal(res.status, 200, res.text);
        assert.equal(res.body.email, newEmail);
      }
      assert.equal((await record('POST /email/confirm (spent)', client().post('/email/confirm', { token }))).status, 401);
    }
    const live = await signUp('clive');
    const newEmail = `${uniqueName('new')}@example.com`.toLowerCase();
    assert.equal((await record('POST /api/me/email (live)', live.browser.send('POST', '/api/me/email', { email: newEmail }))).status, 202);
    liveTokens.push(await mailedToken('email change (live)', newEmail, 'Confirm your new email address', '/email/confirm'));
  });

  it('tokens that were never issued, sent in query strings, are not logged either', async () => {
    for (const path of ['/verify-email', '/email/confirm', '/password/reset']) {
      const madeUp = randomBytes(32).toString('base64url');
      tokens.set(`made up (${path})`, madeUp);
      assert.equal((await record(`GET ${path} (made up)`, client().get(`${path}?token=${madeUp}`))).status, 401);
    }
    const madeUp = randomBytes(32).toString('base64url');
    tokens.set('made up (POST /email/verify)', madeUp);
    assert.equal((await record('POST /email/verify (made up)', client().post(`/email/verify?token=${madeUp}`, { token: madeUp }))).status, 401);
  });

  it('each mailed token is in exactly one mail, and the searches can find it there', async () => {
    await services.passwordReset.idle();
    await until(() => services.mailer.queued === 0, 'the mail queue to empty');
    assert.ok(tokens.size >= 13, `${tokens.size} tokens`);
    for (const [label, token] of tokens) {
      const holding = smtp.received.filter((m) => findTokens(m.raw, new Map([[label, token]])).length > 0);
      assert.equal(holding.length, label.startsWith('made up') ? 0 : 1, label);
    }
  });

  it('no answer but a link page carries a token, and no JSON answer at all', () => {
    assert.ok(answers.filter((a) => a.contentType.startsWith('application/json')).length >= 15);
    for (const answer of answers) {
      if (answer.mayShowToken) continue;
      const found = findTokens(Buffer.from(answer.text, 'utf8'), tokens);
      assert.deepEqual(found, [], `${answer.what} (${answer.status}) carries ${found.join(', ')}`);
    }
    // The link pages do carry it (the control): the GETs were made with the right token.
    assert.ok(answers.filter((a) => a.mayShowToken).every((a) => findTokens(Buffer.from(a.text, 'utf8'), tokens).length > 0));
  });

  it('no log line carries a token', () => {
    assert.equal(config.logLevel, 'debug');
    const log = logLines.join('');
    for (const path of ['/verify-email', '/email/verify', '/password/reset', '/password/forgot', '/email/confirm', '/api/me/email']) {
      assert.ok(logLines.some((line) => line.includes('request completed') && line.includes(`"url":"${path}"`)), `the access log shows ${path}`);
    }
    assert.ok(logLines.some((line) => line.includes('mail sent')), 'the mailer logged its mails');
    const accessLines = logLines.filter((line) => line.includes('"msg":"request completed"')).length;
    assert.ok(accessLines >= answers.length, `an access-log line for each of the ${answers.length} requests (${accessLines})`);
    assert.deepEqual(findTokens(Buffer.from(log, 'utf8'), tokens), []);
    assert.doesNotMatch(log, /token=/);
  });

  it('the database holds no token (only hashes)', async () => {
    const live = new Map(liveTokens.map((t, i) => [`live #${i}`, t]));
    assert.equal(live.size, 3);
    if (isPostgresUrl(database.url)) {
      const text = Buffer.from(await everyValue(services), 'utf8');
      assert.deepEqual(findTokens(text, tokens), []);
      for (const token of liveTokens) assert.ok(text.includes(createHash('sha256').update(token).digest('hex')), 'a live link\'s hash is there');
      for (const username of usernames) assert.ok(text.includes(username), username);
      return;
    }
    const file = database.url.slice('sqlite:'.length);
    const files = () => [file, `${file}-wal`, `${file}-shm`].filter((f) => existsSync(f));
    assert.ok(files().includes(`${file}-wal`), 'the write-ahead log is read too');
    // While the server runs (rows in the WAL), and after it closed (checkpointed into the file).
    for (const moment of ['running', 'closed']) {
      if (moment === 'closed') await closeServer();
      const bytes = Buffer.concat(files().map((f) => readFileSync(f)));
      assert.deepEqual(findTokens(bytes, tokens), [], `the database files (${moment})`);
      for (const username of usernames) assert.ok(bytes.includes(Buffer.from(username)), `${username} is in the files (${moment})`);
      if (moment === 'running') {
        const hashes = await services.db.selectFrom('email_links').select('token_hash').execute();
        for (const token of liveTokens) {
          const hash = createHash('sha256').update(token).digest('hex');
          assert.ok(hashes.some((h) => h.token_hash === hash), 'the live link is stored as its SHA-256');
          assert.ok(bytes.includes(Buffer.from(hash)), 'and that hash is in the files');
        }
      }
    }
  });
});

/** Every value in every table of the database, as text (PostgreSQL: the files are not ours to read). */
async function everyValue(services: Services): Promise<string> {
  const { rows: tables } = await sql<{ table_name: string }>`SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`.execute(services.db);
  assert.ok(tables.some((t) => t.table_name === 'email_links') && tables.some((t) => t.table_name === 'audit_events'));
  const parts: string[] = [];
  for (const { table_name: table } of tables) {
    const { rows } = await sql<{ row: string }>`SELECT t::text AS row FROM ${sql.table(table)} t`.execute(services.db);
    for (const { row } of rows) parts.push(row);
  }
  return parts.join('\n');
}
