import type { Role } from './accounts.table.js';

/** The signed-in person as every handler sees them, however they authenticated. */
export interface Principal {
  id: number;
  username: string;
  email: string | null;
  emailVerified: boolean;
  role: Role;
  createdAt: string;
}

/** Just the principal's fields of a richer user record (nothing else leaks into answers). */
export function principalOf(user: Principal): Principal {
  return { id: user.id, username: user.username, email: user.email, emailVerified: user.emailVerified, role: user.role, createdAt: user.createdAt };
}
