import { createContext, useContext } from 'react';
import type { User } from '../../lib/types';

/** The signed-in person; the app renders only once it is known. */
export const SessionContext = createContext<User | null>(null);

export function useUser(): User {
  const user = useContext(SessionContext);
  if (!user) throw new Error('useUser outside a signed-in session');
  return user;
}
