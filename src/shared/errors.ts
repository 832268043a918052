/**
 * The small family of typed errors. Each has a stable `code` that callers branch on and an optional
 * `cause`. Per-record data problems are never errors: they are report data (see sync/run-report).
 * HTTP status codes are mapped from these only at the server edge.
 */
export type ErrorCode =
  | 'config' // bad configuration; the message names the key
  | 'auth' // a source rejected our credentials (401/403)
  | 'rate_limited' // a source kept rate-limiting us past the retry budget
  | 'upstream' // a source failed (5xx, resets, timeouts) past the retry budget
  | 'bad_response' // a source answered with something we cannot read
  | 'input' // a file or argument was rejected as a whole
  | 'conflict' // another run holds the district, or a state transition is not allowed
  | 'cancelled' // the process is stopping; the run stopped between batches and the next run finishes it
  | 'not_found';

export class RostersyncError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RostersyncError';
    this.code = code;
  }
}

export function isRostersyncError(err: unknown, code?: ErrorCode): err is RostersyncError {
  return err instanceof RostersyncError && (code === undefined || err.code === code);
}

/** A message safe to print: the error's own message, never its cause chain's request details. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
