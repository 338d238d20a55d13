import { recordAudit } from '../audit/audit.repo.js';
import type { RequestMeta } from '../audit/request-meta.js';
import { NO_REQUEST } from '../audit/request-meta.js';
import { ConflictError, NotFoundError, ValidationError } from '../errors.js';
import type { FieldErrors } from '../errors.js';
import type { RevocationBus } from '../events/bus.js';
import type { Mailer } from '../mail/mailer.js';
import type { NewSession, SessionService } from '../sessions/sessions.service.js';
import type { UserSessionsService } from '../sessions/user-sessions.service.js';
import type { Db } from '../storage/database.js';
import { isoNow, UniqueViolationError } from '../storage/database.js';
import type { TokenService } from '../tokens/tokens.service.js';
import type { UserRecord } from './accounts.repo.js';
import * as repo from './accounts.repo.js';
import type { Role } from './accounts.table.js';
import type { PasswordHasher } from './password.js';
import { isWellFormedText, passwordProblem } from './password.js';

export const USERNAME_PATTERN = /^[A-Za-z0-9_.-]{3,32}$/;
const EMAIL_PATTERN = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
/** C0/C1 controls (NUL among them): PostgreSQL refuses NUL in text, and none belongs in an address. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/;

export interface SignUpInput {
  username: string;
  email?: string | null | undefined;
  password: string;
  password_confirmation?: string | undefined;
}

/** What is wrong with an address as typed (trimmed), or undefined when it will do. */
export function emailProblem(email: string): string | undefined {
  if (email.length > 254 || !EMAIL_PATTERN.test(email) || CONTROL_CHARACTERS.test(email) || !isWellFormedText(email)) return 'Enter a valid email address.';
  return undefined;
}

/** Field-by-field problems with a new account, all at once so a form can show them together. */
export function signUpProblems(input: SignUpInput): FieldErrors {
  const fields: FieldErrors = {};
  if (!USERNAME_PATTERN.test(input.username)) {
    fields.username = 'Username must be 3–32 characters: letters, digits, "_", "." or "-".';
  }
  const email = input.email?.trim();
  const badEmail = email ? emailProblem(email) : undefined;
  if (badEmail) fields.email = badEmail;
  const problem = passwordProblem(input.password, input.username);
  if (problem) fields.password = problem;
  if (input.password_confirmation !== undefined && input.password_confirmation !== input.password) {
    fields.password_confirmation = 'Passwords do not match.';
  }
  return fields;
}

export interface AccountServiceDeps {
  db: Db;
  clock: () => number;
  hasher: PasswordHasher;
  sessions: Pick<SessionService, 'revokeAllForUser' | 'create' | 'revokeById'>;
  tokens: Pick<TokenService, 'revokeAllForUser'>;
  userSessions: Pick<UserSessionsService, 'revokeAll'>;
  bus: RevocationBus;
  notices: Pick<Mailer, 'sendNotice'>;
}

/** The account use cases: creating one, setting its password, its role and disabled flag. */
export class AccountService {
  constructor(private readonly deps: AccountServiceDeps) {}

  /**
   * Create an account with a password. Throws ValidationError (422) or ConflictError (409).
   * `byOperator`: made by the CLI, which vouches for the address (stored verified) and exempts the
   * account from REQUIRE_EMAIL_VERIFICATION. `byAdmin`: the id of the admin who made it (the
   * console), with the same trust as the CLI. `requireEmail`: an address is required (signups
   * while REQUIRE_EMAIL_VERIFICATION is on: without one, the account could never sign in).
   */
  async signUp(input: SignUpInput, meta: RequestMeta, role: Role = 'user', options: { byOperator?: boolean; byAdmin?: number; requireEmail?: boolean } = {}): Promise<UserRecord> {
    const { db, clock, hasher } = this.deps;
    const fields = signUpProblems(input);
    if (options.requireEmail && !input.email?.trim()) fields.email = 'Enter your email address: you will need it to sign in.';
    if (Object.keys(fields).length > 0) throw new ValidationError(fields);
    const email = input.email?.trim() || null;

    // Checked before hashing so a taken name costs no bcrypt; the unique index settles races.
    const taken = await repo.usernameOrEmailTaken(db, input.username, email);
    if (taken.username) throw usernameTaken();
    if (taken.email) throw emailTaken();

    const passwordHash = await hasher.hash(input.password, meta.ip);
    const now = isoNow(clock);
    let user: UserRecord;
    try {
      // An address given by the operator or an admin is taken as verified, as they vouch for it.
      const byOperator = (options.byOperator ?? false) || options.byAdmin !== undefined;
      const createdVia = options.byAdmin !== undefined ? 'admin' : byOperator ? 'cli' : 'signup';
      user = await repo.insertUser(db, { username: input.username, email, emailVerified: byOperator, createdVia, role, passwordHash, now });
    } catch (error) {
      if (!(error instanceof UniqueViolationError)) throw error;
      throw error.constraint.includes('email') ? emailTaken() : usernameTaken();
    }
    const event = options.byOperator || options.byAdmin !== undefined || role === 'admin' ? 'user_created' : 'signup';
    await recordAudit(db, { event, userId: user.id, username: user.username, actorId: options.byAdmin ?? null, ...meta }, now);
    return user;
  }

  /** Set a new password (the CLI today). Ends every session and token login, those in flight included. */
  async setPassword(userId: number, password: string, actor: { id: number | null; meta?: RequestMeta }): Promise<void> {
    const { db, clock, hasher } = this.deps;
    const user = await repo.findUserById(db, userId);
    if (!user) throw new NotFoundError('No such user.');
    const problem = passwordProblem(password, user.username);
    if (problem) throw new ValidationError({ password: problem });
    const passwordHash = await hasher.hash(password);
    const now = isoNow(clock);
    await repo.replacePassword(db, userId, passwordHash, now);
    await this.endAllLogins(userId);
    await recordAudit(db, { event: 'password_changed', userId, username: user.username, actorId: actor.id, ...(actor.meta ?? NO_REQUEST) }, now);
  }

  /**
   * The user changes their own password (current_password already checked by the route's recent
   * step). Every other session and token login ends; the caller's own survives: a browser session
   * is replaced by a new one (new id and CSRF token, the old cookie stops working), a token login
   * keeps its tokens. The user's address gets a notice.
   */
  async changePassword(userId: number, password: string, keep: { kind: 'browser' | 'token'; id: string; persistent: boolean }, meta: RequestMeta): Promise<{ user: UserRecord; session: NewSession | null }> {
    const { db, clock, hasher, sessions, userSessions } = this.deps;
    const user = await repo.findUserById(db, userId);
    if (!user) throw new NotFoundError('No such user.');
    const problem = passwordProblem(password, user.username);
    if (problem) throw new ValidationError({ password: problem });
    const passwordHash = await hasher.hash(password, meta.ip);
    const now = isoNow(clock);
    const credentialEpoch = await repo.replacePassword(db, userId, passwordHash, now, { endAccessTokens: false });
    await userSessions.revokeAll(userId, keep.id, { kind: 'self', meta });
    let session: NewSession | null = null;
    if (keep.kind === 'browser') {
      session = await sessions.create({ id: userId, credentialEpoch }, { remember: keep.persistent, ...meta });
      await sessions.revokeById(userId, keep.id);
    }
    await recordAudit(db, { event: 'password_changed', userId, username: user.username, actorId: userId, ...meta }, now);
    if (user.email) this.deps.notices.sendNotice(user.email, 'password-changed', { username: user.username });
    return { user, session };
  }

  /**
   * Delete an account (the user's own, or by an admin): everything it owns goes, its audit rows stay
   * (with the id and name copied in), and the username and email are free again. The last active
   * admin cannot be deleted (409 last_admin), decided under the same lock as a demotion.
   */
  async deleteAccount(userId: number, actor: { id: number; meta: RequestMeta }): Promise<void> {
    const { db, clock, bus } = this.deps;
    const now = isoNow(clock);
    const deleted = await db.transaction().execute(async (trx) => {
      const user = await repo.findUserById(trx, userId);
      if (!user) throw new NotFoundError('No such user.');
      if (user.role === 'admin' && !user.disabled) {
        await repo.lockAdmins(trx);
        if ((await repo.countActiveAdmins(trx)) <= 1) throw new ConflictError('last_admin', 'The last active admin cannot be deleted.');
      }
      await repo.deleteUser(trx, userId);
      return user;
    });
    // Every instance drops the user's cached sessions and logins (their rows are gone already).
    await bus.publish({ kind: 'user', userId });
    await recordAudit(db, { event: 'account_deleted', userId, username: deleted.username, actorId: actor.id, detail: { by: actor.id === userId ? 'self' : 'admin' }, ...actor.meta }, now);
  }

  /** Change role and/or disabled flag, refusing to leave the system without an active admin (409 last_admin). */
  async updateAccount(userId: number, patch: { role?: Role; disabled?: boolean }, actor: { id: number | null; meta?: RequestMeta }): Promise<UserRecord> {
    const { db, clock, bus } = this.deps;
    const now = isoNow(clock);
    const { before, after } = await db.transaction().execute(async (trx) => {
      const user = await repo.findUserById(trx, userId);
      if (!user) throw new NotFoundError('No such user.');
      const losesAdmin = user.role === 'admin' && !user.disabled && (patch.role === 'user' || patch.disabled === true);
      if (losesAdmin) {
        await repo.lockAdmins(trx);
        if ((await repo.countActiveAdmins(trx)) <= 1) throw new ConflictError('last_admin', 'The last active admin cannot be demoted or disabled.');
      }
      const disabling = patch.disabled === true && !user.disabled;
      const next = await repo.updateUser(trx, userId, {
        ...(patch.role !== undefined ? { role: patch.role } : {}),
        ...(patch.disabled !== undefined ? { disabledAt: patch.disabled ? (user.disabled ? undefined : now) : null } : {}),
        ...(disabling ? { tokensValidAfter: now, endLogins: true } : {}),
        now,
      });
      if (!next) throw new NotFoundError('No such user.');
      return { before: user, after: next };
    });

    const meta = actor.meta ?? NO_REQUEST;
    if (before.role !== after.role) {
      await recordAudit(db, { event: 'role_changed', userId, username: after.username, actorId: actor.id, detail: { from: before.role, to: after.role }, ...meta }, now);
      await bus.publish({ kind: 'user', userId });
    }
    if (before.disabled !== after.disabled) {
      if (after.disabled) await this.endAllLogins(userId);
      await recordAudit(db, { event: after.disabled ? 'user_disabled' : 'user_enabled', userId, username: after.username, actorId: actor.id, ...meta }, now);
    }
    return after;
  }

  async findByUsername(username: string): Promise<UserRecord> {
    const found = await repo.findUserForLogin(this.deps.db, username);
    if (!found) throw new NotFoundError(`No user named "${username}".`);
    return found.user;
  }

  /**
   * End every session and refresh family of a user. Called after the change that bumped their
   * credential epoch has committed: a login still in flight then fails to store its session, and
   * every one stored before is among the rows ended here.
   */
  async endAllLogins(userId: number): Promise<void> {
    await this.deps.sessions.revokeAllForUser(userId);
    await this.deps.tokens.revokeAllForUser(userId, 'user_revoked');
    await this.deps.bus.publish({ kind: 'user', userId });
  }
}

function usernameTaken(): ConflictError {
  return new ConflictError('username_taken', 'That username is taken.', { username: 'That username is taken.' });
}

function emailTaken(): ConflictError {
  return new ConflictError('email_taken', 'That email is already registered.', { email: 'That email is already registered.' });
}
