import type { AuthenticationResponseJSON, RegistrationResponseJSON } from '@simplewebauthn/server';
import { Type } from 'typebox';

/**
 * The WebAuthn Level 3 JSON a browser sends back (`PublicKeyCredential.toJSON()`, or
 * @simplewebauthn/browser's startRegistration / startAuthentication), as schemas for the routes and
 * as checks for the service. The schemas only document the shape and bound the sizes: a response
 * that is an object but not a usable credential is the ceremony's failure (422 `fields.response`
 * at registration, 401 at sign-in), decided by the service, not a body-validation error.
 */

const b64url = (description: string, maxLength: number) => Type.String({ maxLength, description: `${description} (base64url)` });

/** A credential id is at most 1023 bytes: 1364 base64url characters. */
const CREDENTIAL_ID_MAX = 1400;

const common = {
  id: Type.Optional(b64url('The credential id', CREDENTIAL_ID_MAX)),
  rawId: Type.Optional(b64url('The credential id again', CREDENTIAL_ID_MAX)),
  type: Type.Optional(Type.String({ maxLength: 32, description: '"public-key"' })),
  authenticatorAttachment: Type.Optional(Type.Union([Type.String({ maxLength: 32 }), Type.Null()])),
  clientExtensionResults: Type.Optional(Type.Object({}, { additionalProperties: true })),
};

export const RegistrationResponseSchema = Type.Object(
  {
    ...common,
    response: Type.Optional(
      Type.Object(
        {
          clientDataJSON: Type.Optional(b64url('The client data', 8192)),
          attestationObject: Type.Optional(b64url('The attestation object', 32768)),
          transports: Type.Optional(Type.Array(Type.String({ maxLength: 32 }), { maxItems: 16 })),
        },
        { additionalProperties: true },
      ),
    ),
  },
  { additionalProperties: true, description: 'The new credential, as PublicKeyCredential.toJSON() (or @simplewebauthn/browser startRegistration) gives it' },
);

export const AuthenticationResponseSchema = Type.Object(
  {
    ...common,
    response: Type.Optional(
      Type.Object(
        {
          clientDataJSON: Type.Optional(b64url('The client data', 8192)),
          authenticatorData: Type.Optional(b64url('The authenticator data', 8192)),
          signature: Type.Optional(b64url('The signature', 1024)),
          userHandle: Type.Optional(Type.Union([b64url('The user handle', 128), Type.Null()])),
        },
        { additionalProperties: true },
      ),
    ),
  },
  { additionalProperties: true, description: 'The assertion, as PublicKeyCredential.toJSON() (or @simplewebauthn/browser startAuthentication) gives it' },
);

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const isString = (value: unknown): value is string => typeof value === 'string' && value.length > 0;

/** The fields every verification reads, present and of the right type; else null. */
export function asRegistrationResponse(value: unknown): RegistrationResponseJSON | null {
  if (!isObject(value) || !isObject(value.response) || !isString(value.id) || !isString(value.rawId)) return null;
  const { clientDataJSON, attestationObject } = value.response;
  if (!isString(clientDataJSON) || !isString(attestationObject)) return null;
  return { clientExtensionResults: {}, ...value } as unknown as RegistrationResponseJSON;
}

export function asAuthenticationResponse(value: unknown): AuthenticationResponseJSON | null {
  if (!isObject(value) || !isObject(value.response) || !isString(value.id) || !isString(value.rawId)) return null;
  const { clientDataJSON, authenticatorData, signature } = value.response;
  if (!isString(clientDataJSON) || !isString(authenticatorData) || !isString(signature)) return null;
  return { clientExtensionResults: {}, ...value } as unknown as AuthenticationResponseJSON;
}

/** The challenge the client data names (what the ceremony spends), or null when it cannot be read. */
export function challengeOf(clientDataJSON: string): string | null {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(clientDataJSON, 'base64url').toString('utf8'));
    const challenge = isObject(parsed) ? parsed.challenge : undefined;
    return typeof challenge === 'string' && challenge.length > 0 && challenge.length <= 128 ? challenge : null;
  } catch {
    return null;
  }
}
