/**
 * A software WebAuthn authenticator for the HTTP tests, in node:crypto alone: an ES256 (P-256) key
 * pair per credential, `none` attestation, and the bytes a browser would send — clientDataJSON,
 * authenticator data and the CBOR attestation object, written by hand (the few CBOR items needed).
 * Every field can be bent (origin, RP id, flags, counter, challenge) to test what the server refuses.
 */
import { createHash, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import type { KeyObject } from 'node:crypto';

/** The options the server hands out (WebAuthn Level 3 JSON), as far as an authenticator reads them. */
export interface CreationOptionsJSON {
  challenge: string;
  rp: { id?: string; name: string };
  user: { id: string; name: string; displayName: string };
  excludeCredentials?: Array<{ id: string; type?: string; transports?: string[] }>;
  authenticatorSelection?: { residentKey?: string; userVerification?: string };
}

export interface RequestOptionsJSON {
  challenge: string;
  rpId?: string;
  allowCredentials?: Array<{ id: string }>;
  userVerification?: string;
}

export interface RegistrationResponseJSON {
  id: string;
  rawId: string;
  type: 'public-key';
  response: { clientDataJSON: string; attestationObject: string; transports: string[] };
  clientExtensionResults: Record<string, unknown>;
  authenticatorAttachment: 'platform';
}

export interface AuthenticationResponseJSON {
  id: string;
  rawId: string;
  type: 'public-key';
  response: { clientDataJSON: string; authenticatorData: string; signature: string; userHandle: string | null };
  clientExtensionResults: Record<string, unknown>;
  authenticatorAttachment: 'platform';
}

/** How a ceremony may be bent; by default it is what an honest browser and authenticator send. */
export interface CeremonyOptions {
  /** The page's origin as the browser reports it (required: the server's PUBLIC_URL origin for a good one). */
  origin: string;
  /** The RP id hashed into the authenticator data; by default the options'. */
  rpId?: string;
  /** The challenge signed; by default the options'. */
  challenge?: string;
  /** clientDataJSON's type; by default webauthn.create / webauthn.get. */
  type?: string;
  /** User present (UP) flag; default true. */
  userPresent?: boolean;
  /** User verified (UV) flag; default true. */
  userVerified?: boolean;
  /** The signature counter to report; by default the authenticator's own, advanced by one unless it stays at zero. */
  counter?: number;
}

const FLAG_UP = 0x01;
const FLAG_UV = 0x04;
const FLAG_BE = 0x08;
const FLAG_BS = 0x10;
const FLAG_AT = 0x40;

const b64url = (bytes: Uint8Array | string): string => Buffer.from(bytes).toString('base64url');
const sha256 = (data: Uint8Array | string): Buffer => createHash('sha256').update(data).digest();

/** A CBOR byte string's or text string's head (major type 2 or 3) and content. */
function cborString(major: 2 | 3, content: Buffer): Buffer {
  const type = major << 5;
  const n = content.length;
  const head = n < 24 ? Buffer.from([type | n]) : n < 256 ? Buffer.from([type | 24, n]) : Buffer.from([type | 25, n >> 8, n & 0xff]);
  return Buffer.concat([head, content]);
}
const cborBytes = (content: Buffer) => cborString(2, content);
const cborText = (text: string) => cborString(3, Buffer.from(text, 'utf8'));

/** The credential's public key as a COSE_Key: {1: 2 (EC2), 3: -7 (ES256), -1: 1 (P-256), -2: x, -3: y}. */
function coseKey(publicKey: KeyObject): Buffer {
  const jwk = publicKey.export({ format: 'jwk' });
  const x = Buffer.from(jwk.x ?? '', 'base64url');
  const y = Buffer.from(jwk.y ?? '', 'base64url');
  return Buffer.concat([Buffer.from([0xa5, 0x01, 0x02, 0x03, 0x26, 0x20, 0x01, 0x21]), cborBytes(x), Buffer.from([0x22]), cborBytes(y)]);
}

function counterBytes(counter: number): Buffer {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32BE(counter);
  return bytes;
}

export interface SoftAuthenticatorOptions {
  /** Backup eligible (a synced passkey): BE set in every authenticator data. Default false. */
  backupEligible?: boolean;
  /** Backed up (BS); only meaningful when backup eligible. Default: as backupEligible. */
  backedUp?: boolean;
  /** Counters stay at zero, as synced passkeys keep them. Default false (the counter grows by one per use). */
  zeroCounter?: boolean;
  /** Length of the credential id in bytes; default 32 (WebAuthn allows up to 1023). */
  credentialIdBytes?: number;
}

/** One discoverable credential on a software authenticator. */
export class SoftAuthenticator {
  readonly credentialId: Buffer;
  readonly #privateKey: KeyObject;
  readonly #publicKey: KeyObject;
  readonly backupEligible: boolean;
  readonly backedUp: boolean;
  readonly zeroCounter: boolean;
  counter = 0;
  /** The user handle the credential was created for (sent back in assertions). */
  userHandle: string | null = null;

  constructor(options: SoftAuthenticatorOptions = {}) {
    this.credentialId = randomBytes(options.credentialIdBytes ?? 32);
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    this.#privateKey = privateKey;
    this.#publicKey = publicKey;
    this.backupEligible = options.backupEligible ?? false;
    this.backedUp = options.backedUp ?? this.backupEligible;
    this.zeroCounter = options.zeroCounter ?? false;
  }

  get id(): string {
    return b64url(this.credentialId);
  }

  #flags(ceremony: CeremonyOptions, extra = 0): number {
    let flags = extra;
    if (ceremony.userPresent ?? true) flags |= FLAG_UP;
    if (ceremony.userVerified ?? true) flags |= FLAG_UV;
    if (this.backupEligible) flags |= FLAG_BE;
    if (this.backupEligible && this.backedUp) flags |= FLAG_BS;
    return flags;
  }

  #nextCounter(ceremony: CeremonyOptions): number {
    if (ceremony.counter !== undefined) return ceremony.counter;
    if (this.zeroCounter) return 0;
    this.counter += 1;
    return this.counter;
  }

  #clientData(type: string, challenge: string, ceremony: CeremonyOptions): string {
    return b64url(JSON.stringify({ type: ceremony.type ?? type, challenge: ceremony.challenge ?? challenge, origin: ceremony.origin, crossOrigin: false }));
  }

  /** navigator.credentials.create(): a `none` attestation of this credential. */
  register(options: CreationOptionsJSON, ceremony: CeremonyOptions): RegistrationResponseJSON {
    const rpId = ceremony.rpId ?? options.rp.id ?? new URL(ceremony.origin).hostname;
    this.userHandle = options.user.id;
    const attested = Buffer.concat([Buffer.alloc(16), Buffer.from([this.credentialId.length >> 8, this.credentialId.length & 0xff]), this.credentialId, coseKey(this.#publicKey)]);
    const authData = Buffer.concat([sha256(rpId), Buffer.from([this.#flags(ceremony, FLAG_AT)]), counterBytes(this.#nextCounter(ceremony)), attested]);
    const attestationObject = Buffer.concat([Buffer.from([0xa3]), cborText('fmt'), cborText('none'), cborText('attStmt'), Buffer.from([0xa0]), cborText('authData'), cborBytes(authData)]);
    return {
      id: this.id,
      rawId: this.id,
      type: 'public-key',
      response: { clientDataJSON: this.#clientData('webauthn.create', options.challenge, ceremony), attestationObject: b64url(attestationObject), transports: ['internal'] },
      clientExtensionResults: {},
      authenticatorAttachment: 'platform',
    };
  }

  /** navigator.credentials.get(): an assertion signed with this credential's key. */
  assert(options: RequestOptionsJSON, ceremony: CeremonyOptions): AuthenticationResponseJSON {
    const rpId = ceremony.rpId ?? options.rpId ?? new URL(ceremony.origin).hostname;
    const authData = Buffer.concat([sha256(rpId), Buffer.from([this.#flags(ceremony)]), counterBytes(this.#nextCounter(ceremony))]);
    const clientDataJSON = this.#clientData('webauthn.get', options.challenge, ceremony);
    const signature = sign('sha256', Buffer.concat([authData, sha256(Buffer.from(clientDataJSON, 'base64url'))]), this.#privateKey);
    return {
      id: this.id,
      rawId: this.id,
      type: 'public-key',
      response: { clientDataJSON, authenticatorData: b64url(authData), signature: b64url(signature), userHandle: this.userHandle },
      clientExtensionResults: {},
      authenticatorAttachment: 'platform',
    };
  }
}
