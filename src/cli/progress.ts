import cliProgress from 'cli-progress';
import type { Logger } from '../shared/logger.js';
import type { SyncProgress } from '../sync/run-sync.js';

/**
 * Progress for long runs: one bar per stream on a terminal (stderr), one structured log line per
 * stream step otherwise. Returns the callback and a `stop` to call when the run ends.
 */
export function progressReporter(
  logger: Logger,
  enabled: boolean,
): { onProgress: (p: SyncProgress) => void; stop: () => void } {
  if (enabled && process.stderr.isTTY) {
    const multi = new cliProgress.MultiBar(
      {
        format: '{stream} | {records} records | {pages} pages | {state}',
        hideCursor: true,
        clearOnComplete: false,
        stream: process.stderr,
      },
      cliProgress.Presets.shades_classic,
    );
    const bars = new Map<string, cliProgress.SingleBar>();
    return {
      onProgress: (p) => {
        let bar = bars.get(p.stream);
        const payload = {
          stream: p.stream.padEnd(14),
          records: p.records,
          pages: p.pages,
          state: p.done ? 'done' : 'reading',
        };
        if (!bar) {
          bar = multi.create(1, 0, payload);
          bars.set(p.stream, bar);
        }
        bar.update(p.done ? 1 : 0, payload);
      },
      stop: () => multi.stop(),
    };
  }
  return {
    onProgress: (p) => {
      if (p.done || p.pages % 10 === 1)
        logger.info({ stream: p.stream, pages: p.pages, records: p.records, done: p.done }, 'sync progress');
    },
    stop: () => undefined,
  };
}
