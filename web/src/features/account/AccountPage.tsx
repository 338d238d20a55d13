import { useCallback, useState } from 'react';
import { useDocumentTitle } from '../../lib/use-document-title';
import type { User } from '../../lib/types';
import { useUser } from '../auth/session';
import { AppsSection } from './AppsSection';
import { DeleteAccountSection } from './DeleteAccountSection';
import { EmailSection } from './EmailSection';
import { PasskeysSection } from './PasskeysSection';
import { PasswordSection } from './PasswordSection';
import { SessionsSection } from './SessionsSection';
import { TwoStepSection } from './TwoStepSection';

/** The account page: where you are signed in, the email address, the password, two-step verification, passkeys, the apps you let in, deleting the account. */
export function AccountPage() {
  const signedIn = useUser();
  // The user as this page last heard it from the server (removing the address answers with it).
  const [user, setUser] = useState<User>(signedIn);
  // Mounted again after a password change, which ends every other session and replaces this one.
  const [sessionsVersion, setSessionsVersion] = useState(0);
  const [emailErrors, setEmailErrors] = useState(false);
  const [passwordErrors, setPasswordErrors] = useState(false);
  const [deleteErrors, setDeleteErrors] = useState(false);
  useDocumentTitle(emailErrors || passwordErrors || deleteErrors ? 'Error: Account' : 'Account');
  const passwordChanged = useCallback(() => setSessionsVersion((n) => n + 1), []);

  return (
    <>
      <h1 tabIndex={-1}>Your account</h1>
      <p className="lead">
        Signed in as <strong>{user.username}</strong>
        {user.email ? ` (${user.email})` : ''}.
      </p>
      <SessionsSection key={sessionsVersion} />
      <EmailSection email={user.email} verified={user.email_verified} onUserChanged={setUser} onErrors={setEmailErrors} />
      <PasswordSection onChanged={passwordChanged} onErrors={setPasswordErrors} />
      <TwoStepSection />
      <PasskeysSection />
      <AppsSection />
      <DeleteAccountSection username={user.username} onErrors={setDeleteErrors} />
    </>
  );
}
