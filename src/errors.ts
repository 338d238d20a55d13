/**
 * Every error a client can see, with the one status it comes with. `code` is stable and
 * append-only (docs/errors.md lists each); switch on it, never on the message.
 */
export const ERROR_STATUS = {
  bad_request: 400,
  unauthenticated: 401,
  invalid_credentials: 401,
  invalid_token: 401,
  forbidden: 403,
  csrf_failed: 403,
  origin_refused: 403,
  reauthentication_required: 403,
  email_not_verified: 403,
  mfa_required: 403,
  not_found: 404,
  username_taken: 409,
  email_taken: 409,
  conflict: 409,
  last_admin: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  validation_failed: 422,
  rate_limited: 429,
  internal_error: 500,
  overloaded: 503,
  unavailable: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export type FieldErrors = Record<string, string>;

export class GatehouseError extends Error {
  constructor(
    readonly code: ErrorCode,
    readonly statusCode: (typeof ERROR_STATUS)[ErrorCode],
    message: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** A route that changes the account needs a recent login or re-authentication (REAUTH_MAX_AGE). */
export class ReauthenticationRequiredError extends GatehouseError {
  constructor() {
    super('reauthentication_required', 403, 'Please confirm it is you: enter your password again.');
  }
}

/** REQUIRE_EMAIL_VERIFICATION: the password was right, the address is not verified (a fresh link is on its way). */
export class EmailNotVerifiedError extends GatehouseError {
  constructor() {
    super('email_not_verified', 403, 'Please verify your email address first: we have sent you a new link.');
  }
}

/** Reserved (v1.2): a route that will need a second factor. No route answers it yet. */
export class MfaRequiredError extends GatehouseError {
  constructor() {
    super('mfa_required', 403, 'This needs two-step verification.');
  }
}

export class BadRequestError extends GatehouseError {
  constructor(message = 'The request body could not be read.') {
    super('bad_request', 400, message);
  }
}

export class UnauthenticatedError extends GatehouseError {
  constructor(message = 'Authentication is required.') {
    super('unauthenticated', 401, message);
  }
}

export class InvalidCredentialsError extends GatehouseError {
  constructor(message = 'Invalid username or password.') {
    super('invalid_credentials', 401, message);
  }
}

export class InvalidTokenError extends GatehouseError {
  constructor(
    message = 'The token is invalid or has expired.',
    /** Why, for the server's log line only: never sent to the client. */
    readonly logReason?: string,
  ) {
    super('invalid_token', 401, message);
  }
}

export class ForbiddenError extends GatehouseError {
  constructor(message = 'You are not allowed to do this.') {
    super('forbidden', 403, message);
  }
}

export class CsrfError extends GatehouseError {
  constructor() {
    super('csrf_failed', 403, 'Missing or invalid CSRF token.');
  }
}

export class OriginRefusedError extends GatehouseError {
  constructor() {
    super('origin_refused', 403, 'Cross-origin request refused.');
  }
}

export class NotFoundError extends GatehouseError {
  constructor(message = 'Not found.') {
    super('not_found', 404, message);
  }
}

export class ConflictError extends GatehouseError {
  constructor(
    code: 'username_taken' | 'email_taken' | 'conflict' | 'last_admin',
    message: string,
    readonly fields?: FieldErrors,
  ) {
    super(code, 409, message);
  }
}

export class PayloadTooLargeError extends GatehouseError {
  constructor() {
    super('payload_too_large', 413, 'The request body is too large.');
  }
}

export class UnsupportedMediaTypeError extends GatehouseError {
  constructor() {
    super('unsupported_media_type', 415, 'Unsupported content type.');
  }
}

export class ValidationError extends GatehouseError {
  constructor(
    readonly fields: FieldErrors,
    message = 'Some fields are invalid.',
  ) {
    super('validation_failed', 422, message);
  }
}

export class RateLimitedError extends GatehouseError {
  constructor(readonly retryAfterSeconds: number) {
    super('rate_limited', 429, 'Too many attempts. Try again later.');
  }
}

export class OverloadedError extends GatehouseError {
  constructor(readonly retryAfterSeconds = 1) {
    super('overloaded', 503, 'The server is busy. Try again shortly.');
  }
}

export class UnavailableError extends GatehouseError {
  constructor(readonly retryAfterSeconds = 5) {
    super('unavailable', 503, 'A dependency is unavailable. Try again shortly.');
  }
}
