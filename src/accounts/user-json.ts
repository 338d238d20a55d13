import type { Principal } from './principal.js';
import type { UserRecord } from './accounts.repo.js';

/** The contract's user JSON: nothing secret. */
export function userJson(user: Principal | UserRecord) {
  return { id: user.id, username: user.username, email: user.email, email_verified: user.emailVerified, role: user.role, created_at: user.createdAt };
}

/** The admin view adds `disabled`. */
export function adminUserJson(user: UserRecord) {
  return { ...userJson(user), disabled: user.disabled };
}
