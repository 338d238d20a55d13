import { UnavailableError } from '../errors.js';

/**
 * A write that broke a unique index. Each dialect turns its driver's own error into this one, so
 * no code above storage/ reads driver codes or messages.
 */
export class UniqueViolationError extends Error {
  constructor(
    /** The index or column named by the database, e.g. `users_email_normalized_key`. */
    readonly constraint: string,
    options?: { cause?: unknown },
  ) {
    super(`unique violation: ${constraint}`, options);
    this.name = 'UniqueViolationError';
  }
}

/** The database cannot be reached or cannot take the statement right now: 503 `unavailable`. */
export class DatabaseUnavailableError extends UnavailableError {
  constructor(options?: { cause?: unknown }) {
    super(5);
    if (options?.cause !== undefined) (this as { cause?: unknown }).cause = options.cause;
  }
}
