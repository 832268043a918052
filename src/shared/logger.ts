import pino from 'pino';
import type { Logger } from 'pino';

export type { Logger };

/**
 * Structured logs (one JSON object per line) on stderr, so stdout stays free for reports and
 * `--json` output. Student data (names, dates of birth, emails) is never passed to the logger; the
 * redaction below is a second line of defence for credentials that might ride along in an object.
 */
export function createLogger(level: string, destination: NodeJS.WritableStream = process.stderr): Logger {
  return pino(
    {
      level,
      base: { app: 'rostersync' },
      redact: {
        paths: [
          'token',
          '*.token',
          'authorization',
          '*.authorization',
          'headers.authorization',
          '*.headers.authorization',
          'access_token',
          '*.access_token',
          'client_secret',
          '*.client_secret',
          'secretKey',
          '*.secretKey',
          'email',
          '*.email',
          'name',
          '*.name',
          'dob',
          '*.dob',
        ],
        censor: '[redacted]',
      },
    },
    destination as pino.DestinationStream,
  );
}

/** A logger that drops everything (tests, library use without logging). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
