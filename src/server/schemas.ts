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

/** References to the shared schemas, for route definitions. */
export const ErrorRef = Type.Ref('Error');
export const UserRef = Type.Ref('User');
export const AdminUserRef = Type.Ref('AdminUser');

export function errorResponses(...statuses: number[]): Record<number, typeof ErrorRef> {
  return Object.fromEntries(statuses.map((status) => [status, ErrorRef]));
}

/** Page parameters shared by every list: `limit` 1–100 (default 20), `page` from 1. */
export const PageQuery = {
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
  page: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000, default: 1 })),
};
