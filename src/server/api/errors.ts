import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors, isResponseSerializationError } from 'fastify-type-provider-zod';
import { InvalidSettingsError } from '../../jobs/district-settings.js';
import { isRostersyncError } from '../../shared/errors.js';
import type { ErrorCode } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';

/**
 * The API's error answers: `{code, message, details}` with a stable `code`. Every error a route
 * lets through is mapped here, at the edge, and nothing else picks HTTP statuses.
 */

/** An error a route raises itself (a missing key, an unknown record). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

export function notFound(what: string): ApiError {
  return new ApiError(404, 'not_found', `${what} does not exist`);
}

const STATUS_OF: Record<ErrorCode, [number, string]> = {
  not_found: [404, 'not_found'],
  conflict: [409, 'conflict'],
  input: [400, 'invalid_request'],
  config: [400, 'invalid_request'],
  auth: [502, 'upstream_auth'],
  rate_limited: [503, 'upstream_rate_limited'],
  upstream: [502, 'upstream'],
  bad_response: [502, 'upstream'],
  cancelled: [503, 'unavailable'],
};

interface Issue {
  field: string;
  message: string;
}

/** The fields of a zod validation error, named as the client sent them (`query.limit`). */
function validationIssues(err: FastifyError): Issue[] {
  const where = err.validationContext === 'querystring' ? 'query' : (err.validationContext ?? 'request');
  const out: Issue[] = [];
  for (const v of err.validation ?? []) {
    const path = (v.instancePath ?? '').split('/').filter(Boolean);
    const keys = (v.params as { keys?: unknown } | undefined)?.keys;
    if (v.keyword === 'unrecognized_keys' && Array.isArray(keys)) {
      for (const k of keys)
        out.push({ field: [where, ...path, String(k)].join('.'), message: 'unknown field' });
      continue;
    }
    out.push({ field: [where, ...path].join('.'), message: v.message ?? 'invalid' });
  }
  return out;
}

/** The error handler of the API plugin. Logs what failed without request data (no query, no body). */
export function apiErrorHandler(logger: Logger) {
  return (err: FastifyError, req: FastifyRequest, reply: FastifyReply) => {
    const send = (status: number, code: string, message: string, details?: unknown) =>
      reply.code(status).send({ code, message, ...(details !== undefined ? { details } : {}) });
    if (err instanceof ApiError) return send(err.status, err.code, err.message, err.details);
    if (hasZodFastifySchemaValidationErrors(err)) {
      const issues = validationIssues(err);
      return send(
        400,
        'invalid_request',
        issues.map((i) => `${i.field}: ${i.message}`).join('; ') || 'invalid request',
        { issues },
      );
    }
    if (err instanceof InvalidSettingsError) {
      return send(400, 'invalid_settings', err.message, {
        issues: err.issues.map((i) => ({ field: i.path, message: i.message })),
      });
    }
    if (isRostersyncError(err)) {
      const [status, code] = STATUS_OF[err.code];
      return send(status, code, err.message);
    }
    if (isResponseSerializationError(err)) {
      logger.error(
        { route: req.routeOptions.url, method: req.method },
        'api: a response did not match its schema',
      );
      return send(500, 'internal', 'internal error');
    }
    // Fastify's own 4xx (bad JSON, unsupported media type, body too large, rate limit).
    const status = typeof err.statusCode === 'number' ? err.statusCode : 500;
    if (status === 429) return send(429, 'rate_limited', err.message);
    if (status >= 400 && status < 500) return send(status, 'bad_request', err.message);
    // Not the message: a database error may quote the values it was given.
    logger.error(
      { route: req.routeOptions.url, method: req.method, errorClass: err.name, errorCode: err.code ?? null },
      'api: request failed',
    );
    return send(500, 'internal', 'internal error');
  };
}
