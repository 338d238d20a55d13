import { useCallback, useState } from 'react';
import { useDocumentTitle } from '../../lib/use-document-title';
import { useUser } from '../auth/session';
import { DeleteAccountSection } from './DeleteAccountSection';
import { PasswordSection } from './PasswordSection';
import { SessionsSection } from './SessionsSection';

/** The account page: where you are signed in, changing the password, deleting the account. */
export function AccountPage() {
  const user = useUser();
  // Mounted again after a password change, which ends every other session and replaces this one.
  const [sessionsVersion, setSessionsVersion] = useState(0);
  const [passwordErrors, setPasswordErrors] = useState(false);
  const [deleteErrors, setDeleteErrors] = useState(false);
  useDocumentTitle(passwordErrors || deleteErrors ? 'Error: Account' : 'Account');
  const passwordChanged = useCallback(() => setSessionsVersion((n) => n + 1), []);

  return (
    <>
      <h1 tabIndex={-1}>Your account</h1>
      <p className="lead">
        Signed in as <strong>{user.username}</strong>
        {user.email ? ` (${user.email})` : ''}.
      </p>
      <SessionsSection key={sessionsVersion} />
      <PasswordSection onChanged={passwordChanged} onErrors={setPasswordErrors} />
      <DeleteAccountSection username={user.username} onErrors={setDeleteErrors} />
    </>
  );
}
