import type { SourceStream } from '../sources/source.js';

/**
 * Reads a source's streams: at most `limit` at once (default 3), each once every stream it depends
 * on has ended. A stream whose read rejects is handed to `failed`; once `stopped()` says so, no new
 * stream starts and those running are waited for. Throws (a programmer error) when streams depend on
 * streams that never come.
 */
export async function scheduleStreams(
  streams: readonly SourceStream[],
  read: (stream: SourceStream) => Promise<void>,
  opts: { limit?: number; failed: (err: unknown) => void; stopped: () => boolean },
): Promise<void> {
  const done = new Set<string>();
  const pending = [...streams];
  const running = new Map<string, Promise<void>>();
  const limit = opts.limit ?? 3;
  while ((pending.length > 0 || running.size > 0) && !opts.stopped()) {
    for (const s of [...pending]) {
      if (running.size >= limit) break;
      if (!s.dependsOn.every((d) => done.has(d))) continue;
      pending.splice(pending.indexOf(s), 1);
      running.set(
        s.name,
        read(s)
          .catch(opts.failed)
          .finally(() => {
            running.delete(s.name);
            done.add(s.name);
          }),
      );
    }
    if (running.size === 0) {
      if (pending.length > 0) {
        throw new Error(`streams with unmet dependencies: ${pending.map((s) => s.name).join(', ')}`);
      }
      break;
    }
    await Promise.race(running.values());
  }
  await Promise.all(running.values());
}
