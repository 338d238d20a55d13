import { Type } from 'typebox';
import { ERROR_STATUS } from '../errors.js';
import type { ErrorCode } from '../errors.js';

const ALL_CODES = Object.keys(ERROR_STATUS) as ErrorCode[];

function errorBody(codes: readonly ErrorCode[], $id: string, description: string) {
  return Type.Object(
    {
      error: Type.Object({
        code: Type.Union(codes.map((code) => Type.Literal(code)), { description: 'Stable: switch on it, never on the message (docs/errors.md)' }),
        message: Type.String({ description: 'For people; may change' }),
        fields: Type.Optional(Type.Record(Type.String(), Type.String(), { description: 'validation_failed and the like: a message per field' })),
      }),
    },
    { $id, description },
  );
}

/** Shared response shapes; the same objects validate, serialize and feed the OpenAPI document. */
export const ErrorSchema = errorBody(ALL_CODES, 'Error', 'Every error response. `code` is stable; see docs/errors.md.');

/** The error statuses routes declare, each with the codes it can carry: `Error401`, `Error403`… */
const ERROR_STATUSES: number[] = [...new Set(Object.values(ERROR_STATUS))];

/** One schema per error status (its codes only), for the OpenAPI document and the typed client. */
export const ErrorStatusSchemas = ERROR_STATUSES.map((status) => {
  const codes = ALL_CODES.filter((code) => ERROR_STATUS[code] === status);
  return errorBody(codes, `Error${status}`, `An error answer with status ${status}: ${codes.map((code) => `\`${code}\``).join(', ')} (docs/errors.md).`);
});

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

/**
 * The error answers of a route, each status with the codes it carries; 503 (`overloaded`,
 * `unavailable`) is added to every route, as any can meet a busy server or a database that is down.
 */
export function errorResponses(...statuses: number[]): Record<number, ReturnType<typeof Type.Ref>> {
  return Object.fromEntries([...new Set([...statuses, 503])].map((status) => [status, Type.Ref(ERROR_STATUSES.includes(status) ? `Error${status}` : 'Error')]));
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
