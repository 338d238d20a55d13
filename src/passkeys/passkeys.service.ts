import { createHash, randomUUID } from 'node:crypto';
import type * as WebAuthnServer from '@simplewebauthn/server';
import type { AuthenticatorTransportFuture, PublicKeyCredentialCreationOptionsJSON, PublicKeyCredentialRequestOptionsJSON } from '@simplewebauthn/server';
import { recordAudit } from '../audit/audit.repo.js';
import type { RequestMeta } from '../audit/request-meta.js';
import { ConflictError, NotFoundError, ValidationError } from '../errors.js';
import type { Mailer } from '../mail/mailer.js';
import type { Db } from '../storage/database.js';
import { isoNow, UniqueViolationError } from '../storage/database.js';
import type { PasskeyRecord } from './passkeys.repo.js';
import * as repo from './passkeys.repo.js';
import { asAuthenticationResponse, asRegistrationResponse, challengeOf } from './webauthn-json.js';

type WebAuthnLibrary = typeof WebAuthnServer;
let library: Promise<WebAuthnLibrary> | null = null;

/** @simplewebauthn/server on first use: loading it costs most of a second, which every CLI command and server start would otherwise pay. */
function webauthn(): Promise<WebAuthnLibrary> {
  library ??= import('@simplewebauthn/server');
  return library;
}

/** A challenge lives this long; the browser's own timeout is the same. */
export const CHALLENGE_TTL_MS = 5 * 60_000;
/** Longest passkey name, in Unicode code points after trimming. */
export const PASSKEY_NAME_MAX = 100;

/** Control characters and lone surrogates: never part of a name a person typed. */
const UNTYPABLE = /[\p{Cc}\p{Cs}]/u;
/** The transports a browser may report (WebAuthn L3 AuthenticatorTransport); others are dropped. */
const TRANSPORTS = new Set(['ble', 'cable', 'hybrid', 'internal', 'nfc', 'smart-card', 'usb']);
/** A credential id is at most 1023 bytes (WebAuthn §5.8.3): 1364 base64url characters. */
const CREDENTIAL_ID_MAX = 1364;
/** Our passkey ids are UUIDs; anything else names no passkey (404, like an unknown one). */
const PASSKEY_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** A passkey as the API shows it. */
export interface PasskeyJson {
  id: string;
  name: string;
  created_at: string;
  last_used_at: string | null;
}

export function passkeyJson(passkey: PasskeyRecord): PasskeyJson {
  return { id: passkey.id, name: passkey.name, created_at: passkey.createdAt, last_used_at: passkey.lastUsedAt };
}

export interface PasskeyUser {
  id: number;
  username: string;
  email: string | null;
}

export interface PasskeyServiceDeps {
  db: Db;
  clock: () => number;
  notices: Pick<Mailer, 'sendNotice'>;
  /** WEBAUTHN_RP_ID (PUBLIC_URL's host by default). */
  rpId: string;
  /** PUBLIC_URL's origin: the only origin a ceremony may come from. */
  origin: string;
  /** What the browser shows as the site's name. */
  rpName: string;
}

/** Why an assertion was refused (for the audit log only; every caller answers alike). */
type Refusal = 'malformed' | 'challenge' | 'unknown_credential' | 'not_yours' | 'verification' | 'counter';
type Assertion = { ok: true; passkey: PasskeyRecord } | { ok: false; reason: Refusal; userId: number | null };

/**
 * Passkeys (WebAuthn, with @simplewebauthn/server): registration and management, the discoverable
 * sign-in's verification, and re-authentication. Challenges are stored in the database and spent by
 * one conditional DELETE before anything is verified, so each serves one attempt on any instance;
 * a signature counter is advanced by one conditional UPDATE.
 */
export class PasskeyService {
  constructor(private readonly deps: PasskeyServiceDeps) {}

  /** POST /api/me/passkeys/options: creation options; the new challenge voids the user's earlier one. */
  async registrationOptions(user: PasskeyUser): Promise<PublicKeyCredentialCreationOptionsJSON> {
    const { db, rpId, rpName } = this.deps;
    const existing = await repo.listPasskeys(db, user.id);
    const options = await (await webauthn()).generateRegistrationOptions({
      rpName,
      rpID: rpId,
      userName: user.username,
      userDisplayName: user.username,
      userID: userHandle(rpId, user.id),
      timeout: CHALLENGE_TTL_MS,
      attestationType: 'none',
      excludeCredentials: existing.map((p) => ({ id: p.credentialId, ...(p.transports ? { transports: p.transports as AuthenticatorTransportFuture[] } : {}) })),
      authenticatorSelection: { residentKey: 'required', requireResidentKey: true, userVerification: 'required' },
    });
    await this.#saveChallenge(options.challenge, 'register', user.id);
    return options;
  }

  /**
   * POST /api/me/passkeys: verify the new credential against the user's registration challenge
   * (spent first, whatever the outcome) and store it. 422 `fields.response` when it does not
   * verify; 409 `conflict` when the credential is registered already (to anyone).
   */
  async register(user: PasskeyUser, rawResponse: unknown, rawName: string | undefined, meta: RequestMeta): Promise<PasskeyRecord> {
    const { db, clock } = this.deps;
    // The name first: a bad one spends nothing, so the same response can be sent again with a better one.
    const name = rawName === undefined || rawName.trim() === '' ? null : validPasskeyName(rawName);
    const response = asRegistrationResponse(rawResponse);
    const challenge = response ? challengeOf(response.response.clientDataJSON) : null;
    if (!response || !challenge) throw refused('That is not a passkey response.');
    if (!(await repo.spendChallenge(db, challenge, 'register', user.id, isoNow(clock)))) throw refused('The passkey request expired or was used already. Try again.');
    const { verifyRegistrationResponse } = await webauthn();
    let verified: Awaited<ReturnType<typeof verifyRegistrationResponse>>;
    try {
      verified = await verifyRegistrationResponse({ response, expectedChallenge: challenge, expectedOrigin: this.deps.origin, expectedRPID: this.deps.rpId, requireUserPresence: true, requireUserVerification: true });
    } catch {
      throw refused('The passkey could not be verified.');
    }
    if (!verified.verified || verified.registrationInfo.credential.id.length > CREDENTIAL_ID_MAX) throw refused('The passkey could not be verified.');
    const info = verified.registrationInfo;
    const transports = [...new Set(info.credential.transports ?? [])].filter((t) => TRANSPORTS.has(t));
    const now = isoNow(clock);
    const passkey = {
      id: randomUUID(),
      credentialId: info.credential.id,
      userId: user.id,
      publicKey: Buffer.from(info.credential.publicKey).toString('base64url'),
      counter: info.credential.counter,
      transports: transports.length > 0 ? transports : null,
      backupEligible: info.credentialDeviceType === 'multiDevice',
      backedUp: info.credentialBackedUp,
      name: name ?? `Passkey ${(await repo.countPasskeys(db, user.id)) + 1}`,
      createdAt: now,
    };
    try {
      await repo.insertPasskey(db, passkey);
    } catch (error) {
      if (error instanceof UniqueViolationError) throw new ConflictError('conflict', 'This passkey is registered already.');
      throw error;
    }
    await recordAudit(db, { event: 'passkey_added', userId: user.id, username: user.username, detail: { passkey_id: passkey.id, backup_eligible: passkey.backupEligible }, ...meta }, now);
    if (user.email) this.deps.notices.sendNotice(user.email, 'factor-added', { username: user.username, factor: 'passkey', name: passkey.name });
    return { ...passkey, lastUsedAt: null };
  }

  list(userId: number): Promise<PasskeyRecord[]> {
    return repo.listPasskeys(this.deps.db, userId);
  }

  /** PATCH /api/me/passkeys/:id: 422 for a bad name (checked first), 404 for another user's or an unknown id. */
  async rename(user: PasskeyUser, id: string, rawName: string, meta: RequestMeta): Promise<PasskeyRecord> {
    const name = validPasskeyName(rawName);
    const renamed = PASSKEY_ID.test(id) ? await repo.renamePasskey(this.deps.db, user.id, id, name) : null;
    if (!renamed) throw new NotFoundError('No such passkey.');
    await recordAudit(this.deps.db, { event: 'passkey_renamed', userId: user.id, username: user.username, detail: { passkey_id: id }, ...meta }, isoNow(this.deps.clock));
    return renamed;
  }

  /** DELETE /api/me/passkeys/:id: 404 for another user's or an unknown id. A notice is mailed. */
  async remove(user: PasskeyUser, id: string, meta: RequestMeta): Promise<void> {
    const { db, clock } = this.deps;
    const passkey = PASSKEY_ID.test(id) ? await repo.findPasskey(db, user.id, id) : null;
    if (!passkey || !(await repo.deletePasskey(db, user.id, id))) throw new NotFoundError('No such passkey.');
    await recordAudit(db, { event: 'passkey_removed', userId: user.id, username: user.username, detail: { passkey_id: id }, ...meta }, isoNow(clock));
    if (user.email) this.deps.notices.sendNotice(user.email, 'factor-removed', { username: user.username, factor: 'passkey', name: passkey.name });
  }

  /** POST /login/passkey/options: request options for a discoverable credential (no allowCredentials). */
  async signInOptions(): Promise<PublicKeyCredentialRequestOptionsJSON> {
    const options = await (await webauthn()).generateAuthenticationOptions({ rpID: this.deps.rpId, userVerification: 'required', timeout: CHALLENGE_TTL_MS });
    await this.#saveChallenge(options.challenge, 'sign-in', null);
    return options;
  }

  /** POST /login/passkey: whose passkey signed the challenge (user verified), or null for any failure. */
  async verifySignIn(rawResponse: unknown, meta: RequestMeta): Promise<number | null> {
    const outcome = await this.#verifyAssertion(rawResponse, null, 'sign-in', meta);
    if (outcome.ok) return outcome.passkey.userId;
    await recordAudit(this.deps.db, { event: 'login_failed', userId: outcome.userId, detail: { reason: `passkey_${outcome.reason}` }, ...meta }, isoNow(this.deps.clock));
    return null;
  }

  /** `{passkey}` at POST /api/me/reauthenticate: an assertion of one of this user's passkeys, on a sign-in challenge. */
  async verifyForReauthentication(userId: number, rawResponse: unknown, meta: RequestMeta): Promise<boolean> {
    return (await this.#verifyAssertion(rawResponse, userId, 'reauthentication', meta)).ok;
  }

  async deleteExpired(): Promise<number> {
    return repo.deleteExpiredChallenges(this.deps.db, isoNow(this.deps.clock));
  }

  async #saveChallenge(challenge: string, purpose: repo.ChallengePurpose, userId: number | null): Promise<void> {
    const now = this.deps.clock();
    await repo.saveChallenge(this.deps.db, { challenge, purpose, userId, now: new Date(now).toISOString(), expiresAt: new Date(now + CHALLENGE_TTL_MS).toISOString() });
  }

  /**
   * The checks an assertion goes through, in order: readable → its challenge spent (one attempt per
   * challenge, whatever follows) → a known credential (of `expectedUser`, when given) → origin, RP
   * id, user presence and verification, signature → the counter. A counter that does not grow is
   * audited, and refuses only a credential that is not backup-eligible.
   */
  async #verifyAssertion(rawResponse: unknown, expectedUser: number | null, use: 'sign-in' | 'reauthentication', meta: RequestMeta): Promise<Assertion> {
    const { db, clock } = this.deps;
    const response = asAuthenticationResponse(rawResponse);
    const challenge = response ? challengeOf(response.response.clientDataJSON) : null;
    if (!response || !challenge) return { ok: false, reason: 'malformed', userId: expectedUser };
    if (!(await repo.spendChallenge(db, challenge, 'sign-in', null, isoNow(clock)))) return { ok: false, reason: 'challenge', userId: expectedUser };
    const passkey = response.id.length <= CREDENTIAL_ID_MAX ? await repo.findByCredentialId(db, response.id) : null;
    if (!passkey) return { ok: false, reason: 'unknown_credential', userId: expectedUser };
    if (expectedUser !== null && passkey.userId !== expectedUser) return { ok: false, reason: 'not_yours', userId: expectedUser };
    const { verifyAuthenticationResponse } = await webauthn();
    let info: Awaited<ReturnType<typeof verifyAuthenticationResponse>>['authenticationInfo'];
    try {
      const verified = await verifyAuthenticationResponse({
        response,
        expectedChallenge: challenge,
        expectedOrigin: this.deps.origin,
        expectedRPID: this.deps.rpId,
        // Counter 0: the library would refuse any regression; the rule here is ours (below).
        credential: { id: passkey.credentialId, publicKey: Buffer.from(passkey.publicKey, 'base64url'), counter: 0 },
        requireUserVerification: true,
      });
      if (!verified.verified) return { ok: false, reason: 'verification', userId: passkey.userId };
      info = verified.authenticationInfo;
    } catch {
      return { ok: false, reason: 'verification', userId: passkey.userId };
    }
    const now = isoNow(clock);
    const grew = info.newCounter > passkey.counter && (await repo.advanceCounter(db, passkey.id, info.newCounter, info.credentialBackedUp, now));
    if (!grew) {
      const bothZero = info.newCounter === 0 && passkey.counter === 0;
      if (!bothZero) {
        await recordAudit(
          db,
          { event: 'passkey_counter_regressed', userId: passkey.userId, detail: { passkey_id: passkey.id, stored: passkey.counter, received: info.newCounter, backup_eligible: passkey.backupEligible, refused: !passkey.backupEligible }, ...meta },
          now,
        );
        if (!passkey.backupEligible) return { ok: false, reason: 'counter', userId: passkey.userId };
      }
      await repo.markUsed(db, passkey.id, info.credentialBackedUp, now);
    }
    await recordAudit(db, { event: 'passkey_used', userId: passkey.userId, detail: { passkey_id: passkey.id, for: use }, ...meta }, now);
    return { ok: true, passkey };
  }
}

/** A passkey name as stored: trimmed, 1–100 code points, no control characters. 422 `fields.name` otherwise. */
export function validPasskeyName(raw: string): string {
  const name = raw.trim();
  const length = [...name].length;
  if (length === 0) throw new ValidationError({ name: 'Enter a name.' });
  if (length > PASSKEY_NAME_MAX) throw new ValidationError({ name: `Use at most ${PASSKEY_NAME_MAX} characters.` });
  if (UNTYPABLE.test(name)) throw new ValidationError({ name: 'Must not contain control characters or broken Unicode.' });
  return name;
}

/** A failed registration ceremony: 422 on `response`. */
function refused(message: string): ValidationError {
  return new ValidationError({ response: message });
}

/**
 * The WebAuthn user handle: stable per user and relying party (an authenticator then keeps one
 * passkey per account, replacing an orphan), opaque, and no personal data (WebAuthn §14.6.1).
 */
function userHandle(rpId: string, userId: number): Uint8Array<ArrayBuffer> {
  return new Uint8Array(createHash('sha256').update(`gatehouse-webauthn-user\0${rpId}\0${userId}`).digest());
}
