import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { GatehouseError, InvalidTokenError, NotFoundError, RateLimitedError, OverloadedError, UnavailableError, ValidationError } from '../errors.js';
import type { FieldErrors } from '../errors.js';

interface ErrorBody {
  error: { code: string; message: string; fields?: FieldErrors };
}

interface AjvError {
  instancePath?: string;
  keyword?: string;
  message?: string;
  params?: Record<string, unknown>;
}

/**
 * For routes with `attachValidation` (the form routes): throw the body's validation errors as a
 * ValidationError, so a bad form is shown again instead of answered with JSON.
 */
export function assertValidBody(request: FastifyRequest): void {
  const error = request.validationError as (Error & { validation?: unknown[] }) | undefined;
  if (error) throw new ValidationError(fieldsFromValidation((error.validation ?? []) as never[]));
}

/** Ajv's error list as one message per field, named as the client sent it. */
export function fieldsFromValidation(errors: readonly AjvError[]): FieldErrors {
  const fields: FieldErrors = {};
  for (const error of errors) {
    const missing = error.params?.missingProperty;
    const name =
      typeof missing === 'string' ? missing : (error.instancePath ?? '').replace(/^\//, '').split('/')[0] || 'body';
    const message = typeof missing === 'string' ? 'This field is required.' : describe(error);
    fields[name] ??= message;
  }
  return fields;
}

function describe(error: AjvError): string {
  const limit = error.params?.limit;
  switch (error.keyword) {
    case 'type':
      return `Must be ${String(error.params?.type ?? 'of another type').replace(/,/g, ' or ')}.`;
    case 'minLength':
      return `Must be at least ${String(limit)} characters.`;
    case 'maxLength':
      return `Must be at most ${String(limit)} characters.`;
    case 'minimum':
      return `Must be at least ${String(limit)}.`;
    case 'maximum':
      return `Must be at most ${String(limit)}.`;
    default:
      return error.message ? `${error.message.charAt(0).toUpperCase()}${error.message.slice(1)}.` : 'Invalid value.';
  }
}

/** The contract's error shape for anything thrown: public message out, detail to the log only. */
export function toErrorResponse(error: FastifyError, request: FastifyRequest): { status: number; body: ErrorBody; retryAfter?: number } {
  if (error instanceof GatehouseError) {
    const fields = (error as GatehouseError & { fields?: FieldErrors }).fields;
    const retryAfter =
      error instanceof RateLimitedError || error instanceof OverloadedError || error instanceof UnavailableError ? error.retryAfterSeconds : undefined;
    return {
      status: error.statusCode,
      body: { error: { code: error.code, message: error.message, ...(fields ? { fields } : {}) } },
      ...(retryAfter !== undefined ? { retryAfter } : {}),
    };
  }
  if (error.validation) {
    if (error.validationContext === 'params') return toErrorResponse(new NotFoundError() as unknown as FastifyError, request);
    return {
      status: 422,
      body: { error: { code: 'validation_failed', message: 'Some fields are invalid.', fields: fieldsFromValidation(error.validation as AjvError[]) } },
    };
  }
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { status: 413, body: { error: { code: 'payload_too_large', message: 'The request body is too large.' } } };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { status: 415, body: { error: { code: 'unsupported_media_type', message: 'Unsupported content type.' } } };
  }
  const status = error.statusCode ?? 500;
  if (status === 404) return { status, body: { error: { code: 'not_found', message: 'Not found.' } } };
  if (status >= 400 && status < 500) {
    return { status: 400, body: { error: { code: 'bad_request', message: 'The request could not be read.' } } };
  }
  return { status: 500, body: { error: { code: 'internal_error', message: 'Something went wrong.' } } };
}

export function errorHandler(error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const { status, body, retryAfter } = toErrorResponse(error, request);
  if (status >= 500) request.log.error({ err: error }, 'request failed');
  else request.log.info({ code: body.error.code, status, ...(error instanceof InvalidTokenError && error.logReason ? { reason: error.logReason } : {}) }, 'request refused');
  if (retryAfter !== undefined) reply.header('Retry-After', String(retryAfter));
  if (error instanceof InvalidTokenError) reply.header('WWW-Authenticate', 'Bearer error="invalid_token"');
  return reply.status(status).type('application/json; charset=utf-8').send(body);
}

/**
 * The same errors in OAuth's shape (`{error, error_description}`, RFC 6749 §5.2), for the OpenID
 * Connect provider's routes (`config.oauth`): what Fastify or Gatehouse refuses before the
 * provider sees the request (a refused Host, a server shutting down, a storage outage).
 */
export function oauthErrorHandler(error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const { status, body, retryAfter } = toErrorResponse(error, request);
  if (status >= 500) request.log.error({ err: error }, 'request failed');
  if (retryAfter !== undefined) reply.header('Retry-After', String(retryAfter));
  const code = status === 503 || status === 429 ? 'temporarily_unavailable' : status >= 500 ? 'server_error' : status === 404 ? 'not_found' : 'invalid_request';
  return reply.status(status).header('Cache-Control', 'no-store').type('application/json; charset=utf-8').send({ error: code, error_description: body.error.message });
}
