import { recordAudit } from '../audit/audit.repo.js';
import type { AppContext, RequestMeta } from '../context.js';
import { ConflictError, ForbiddenError, InvalidCredentialsError, NotFoundError, ValidationError } from '../errors.js';
import type { FieldErrors } from '../errors.js';
import { isoNow, UniqueViolationError } from '../storage/database.js';
import type { UserRecord } from './accounts.repo.js';
import * as repo from './accounts.repo.js';
import type { Role } from './accounts.table.js';
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

/** Field-by-field problems with a new account, all at once so a form can show them together. */
export function signUpProblems(input: SignUpInput): FieldErrors {
  const fields: FieldErrors = {};
  if (!USERNAME_PATTERN.test(input.username)) {
    fields.username = 'Username must be 3–32 characters: letters, digits, "_", "." or "-".';
  }
  const email = input.email?.trim();
  if (email && (email.length > 254 || !EMAIL_PATTERN.test(email) || CONTROL_CHARACTERS.test(email) || !isWellFormedText(email))) {
    fields.email = 'Enter a valid email address.';
  }
  const problem = passwordProblem(input.password, input.username);
  if (problem) fields.password = problem;
  if (input.password_confirmation !== undefined && input.password_confirmation !== input.password) {
    fields.password_confirmation = 'Passwords do not match.';
  }
  return fields;
}

/** Create an account with a password. Throws ValidationError (422) or ConflictError (409). */
export async function signUp(ctx: AppContext, input: SignUpInput, meta: RequestMeta, role: Role = 'user'): Promise<UserRecord> {
  const fields = signUpProblems(input);
  if (Object.keys(fields).length > 0) throw new ValidationError(fields);
  const email = input.email?.trim() || null;

  // Checked before hashing so a taken name costs no bcrypt; the unique index settles races.
  const taken = await repo.usernameOrEmailTaken(ctx.db, input.username, email);
  if (taken.username) throw usernameTaken();
  if (taken.email) throw emailTaken();

  const passwordHash = await ctx.hasher.hash(input.password, meta.ip);
  const now = isoNow(ctx.clock);
  let user: UserRecord;
  try {
    user = await repo.insertUser(ctx.db, { username: input.username, email, role, passwordHash, now });
  } catch (error) {
    if (!(error instanceof UniqueViolationError)) throw error;
    throw error.constraint.includes('email') ? emailTaken() : usernameTaken();
  }
  await recordAudit(ctx.db, { event: role === 'admin' ? 'user_created' : 'signup', userId: user.id, username: user.username, ...meta }, now);
  return user;
}

function usernameTaken(): ConflictError {
  return new ConflictError('username_taken', 'That username is taken.', { username: 'That username is taken.' });
}

function emailTaken(): ConflictError {
  return new ConflictError('email_taken', 'That email is already registered.', { email: 'That email is already registered.' });
}

/**
 * Check a username (or email) and password. Unknown user, wrong password and disabled user all
 * cost one bcrypt comparison and end in the same InvalidCredentialsError.
 */
export async function verifyCredentials(ctx: AppContext, identifier: string, password: string, meta: RequestMeta): Promise<UserRecord> {
  const found = await repo.findUserForLogin(ctx.db, identifier);
  // The typed name only, never the account: a 429 for "dave" must say nothing about dave's email.
  const typed = identifier.includes('@') ? repo.normalizeEmail(identifier) : repo.normalizeUsername(identifier);
  // Reserved before the hash, so concurrent guesses cannot all pass a check made before any failed.
  const attempt = await ctx.loginThrottle.reserve(`name:${typed}`).catch(async (error: unknown) => {
    if (error instanceof Error && 'code' in error && error.code === 'rate_limited') {
      await recordAudit(ctx.db, { event: 'login_throttled', userId: found?.user.id ?? null, username: found?.user.username ?? null, ...meta }, isoNow(ctx.clock));
    }
    throw error;
  });

  let matches: boolean;
  try {
    matches = await ctx.hasher.verify(password, found?.passwordHash ?? null, meta.ip);
  } catch (error) {
    // Shed (503) or failed: the password was never evaluated, so the attempt is given back.
    await attempt.cancelled();
    throw error;
  }
  const now = isoNow(ctx.clock);
  if (!found || !matches || found.user.disabled) {
    const reason = !found ? 'unknown_user' : !matches ? 'wrong_password' : 'disabled';
    await recordAudit(ctx.db, { event: 'login_failed', userId: found?.user.id ?? null, username: found?.user.username ?? null, detail: { reason }, ...meta }, now);
    await attempt.failed();
    throw new InvalidCredentialsError();
  }

  await attempt.succeeded();
  if (found.passwordHash && ctx.hasher.needsRehash(found.passwordHash)) {
    await repo.setPasswordHash(ctx.db, found.user.id, await ctx.hasher.hash(password, meta.ip), now);
  }
  return found.user;
}

/** Set a new password (CLI today; the password-change flow later). Ends every session and token. */
export async function setPassword(ctx: AppContext, userId: number, password: string, actorId: number | null): Promise<void> {
  const user = await repo.findUserById(ctx.db, userId);
  if (!user) throw new NotFoundError('No such user.');
  const problem = passwordProblem(password, user.username);
  if (problem) throw new ValidationError({ password: problem });
  const passwordHash = await ctx.hasher.hash(password);
  const now = isoNow(ctx.clock);
  await repo.replacePassword(ctx.db, userId, passwordHash, now);
  await endLogins(ctx, userId);
  await recordAudit(ctx.db, { event: 'password_changed', userId, username: user.username, actorId }, now);
}

/** Change role and/or disabled flag, refusing to leave the system without an active admin. */
export async function updateAccount(
  ctx: AppContext,
  userId: number,
  patch: { role?: Role; disabled?: boolean },
  actor: { id: number | null; meta?: RequestMeta },
): Promise<UserRecord> {
  const now = isoNow(ctx.clock);
  const updated = await ctx.db.transaction().execute(async (trx) => {
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

  const { before, after } = updated;
  const meta = actor.meta ?? { ip: null, userAgent: null };
  if (before.role !== after.role) {
    await recordAudit(ctx.db, { event: 'role_changed', userId, username: after.username, actorId: actor.id, detail: { from: before.role, to: after.role }, ...meta }, now);
    await ctx.bus.publish({ kind: 'user', userId });
  }
  if (before.disabled !== after.disabled) {
    if (after.disabled) await endLogins(ctx, userId);
    await recordAudit(ctx.db, { event: after.disabled ? 'user_disabled' : 'user_enabled', userId, username: after.username, actorId: actor.id, ...meta }, now);
  }
  return after;
}

/**
 * End every session and refresh family of a user. Called after the change that bumped their
 * credential epoch has committed: a login still in flight then fails to store its session, and
 * every one stored before is among the rows ended here.
 */
async function endLogins(ctx: AppContext, userId: number): Promise<void> {
  await ctx.sessions.revokeAllForUser(userId);
  await ctx.tokens.revokeAllForUser(userId, 'user_revoked');
  await ctx.bus.publish({ kind: 'user', userId });
}

export async function findUserByUsername(ctx: AppContext, username: string): Promise<UserRecord> {
  const found = await repo.findUserForLogin(ctx.db, username);
  if (!found) throw new NotFoundError(`No user named "${username}".`);
  return found.user;
}

export function assertAdmin(user: { role: Role }): void {
  if (user.role !== 'admin') throw new ForbiddenError();
}
