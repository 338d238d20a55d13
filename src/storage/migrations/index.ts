import type { Migration } from 'kysely';
import type { DialectName } from '../database.js';
import { initialSchema } from './20261201T0500-initial-schema.js';
import { credentialEpoch } from './20261205T2300-credential-epoch.js';
import { signingKeyActivation } from './20261206T0900-signing-key-activation.js';
import { recentAuthentication } from './20261206T1000-recent-authentication.js';
import { emailVerified } from './20261206T1100-email-verified.js';
import { emailLinks } from './20261206T1200-email-links.js';
import { secondFactors } from './20261206T1300-second-factors.js';
import { oidc } from './20261206T1400-oidc.js';

/** Every migration in order. Listed, not scanned from a folder, so a build cannot miss one. */
export function migrationsFor(dialect: DialectName): Record<string, Migration> {
  return {
    '20261201T0500-initial-schema': initialSchema(dialect),
    '20261205T2300-credential-epoch': credentialEpoch(dialect),
    '20261206T0900-signing-key-activation': signingKeyActivation(dialect),
    '20261206T1000-recent-authentication': recentAuthentication(dialect),
    '20261206T1100-email-verified': emailVerified(dialect),
    '20261206T1200-email-links': emailLinks(dialect),
    '20261206T1300-second-factors': secondFactors(dialect),
    '20261206T1400-oidc': oidc(dialect),
  };
}
