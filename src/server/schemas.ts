import { Type } from 'typebox';

/** Shared response shapes; the same objects validate, serialize and feed the OpenAPI document. */
export const ErrorSchema = Type.Object(
  {
    error: Type.Object({
      code: Type.String(),
      message: Type.String(),
      fields: Type.Optional(Type.Record(Type.String(), Type.String())),
    }),
  },
  { $id: 'Error', description: 'Every error response. `code` is stable; see docs/errors.md.' },
);

export const UserSchema = Type.Object(
  {
    id: Type.Integer(),
    username: Type.String(),
    email: Type.Union([Type.String(), Type.Null()]),
    email_verified: Type.Boolean({ description: 'The address is proven the user\'s; false when email is null' }),
    role: Type.Union([Type.Literal('user'), Type.Literal('admin')]),
    created_at: Type.String({ format: 'date-time' }),
  },
  { $id: 'User' },
);

export const AdminUserSchema = Type.Object(
  {
    id: Type.Integer(),
    username: Type.String(),
    email: Type.Union([Type.String(), Type.Null()]),
    email_verified: Type.Boolean({ description: 'The address is proven the user\'s; false when email is null' }),
    role: Type.Union([Type.Literal('user'), Type.Literal('admin')]),
    created_at: Type.String({ format: 'date-time' }),
    disabled: Type.Boolean(),
  },
  { $id: 'AdminUser' },
);

/** The answer to a right password for a user with MFA: no session, no tokens; the second step's token. */
export const MfaRequiredSchema = Type.Object(
  {
    mfa_required: Type.Literal(true),
    mfa_token: Type.String({ description: 'Send it to POST /login/mfa (or /api/token/mfa) with a code; single use, MFA_TOKEN_TTL seconds, dead after 5 wrong codes' }),
    methods: Type.Array(Type.Union([Type.Literal('totp'), Type.Literal('recovery_code')])),
    expires_in: Type.Integer({ description: 'MFA_TOKEN_TTL, seconds' }),
  },
  { $id: 'MfaRequired' },
);

/** References to the shared schemas, for route definitions. */
export const ErrorRef = Type.Ref('Error');
export const UserRef = Type.Ref('User');
export const AdminUserRef = Type.Ref('AdminUser');
export const MfaRequiredRef = Type.Ref('MfaRequired');

/** The JSON of a second step that begins. */
export function mfaRequiredJson(challenge: { mfaToken: string; methods: string[]; expiresIn: number }) {
  return { mfa_required: true as const, mfa_token: challenge.mfaToken, methods: challenge.methods, expires_in: challenge.expiresIn };
}

export function errorResponses(...statuses: number[]): Record<number, typeof ErrorRef> {
  return Object.fromEntries(statuses.map((status) => [status, ErrorRef]));
}

/** Page parameters shared by every list: `limit` 1–100 (default 20), `page` from 1. */
export const PageQuery = {
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
  page: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000, default: 1 })),
};

/** The body of a login's second step (POST /login/mfa, /api/token/mfa): one of the two codes. */
export const MfaStepBody = Type.Object({
  mfa_token: Type.String({ maxLength: 256 }),
  code: Type.Optional(Type.String({ maxLength: 64 })),
  recovery_code: Type.Optional(Type.String({ maxLength: 64 })),
});
