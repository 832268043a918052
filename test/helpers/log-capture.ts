import { Writable } from 'node:stream';
import { createLogger } from '../../src/shared/logger.js';
import type { Logger } from '../../src/shared/logger.js';

/** A real logger (JSON lines, as the CLI writes them) whose output a test can read back. */
export function capturedLogger(level: string): { logger: Logger; text: () => string } {
  let out = '';
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      out += chunk.toString();
      cb();
    },
  });
  return { logger: createLogger(level, sink), text: () => out };
}
