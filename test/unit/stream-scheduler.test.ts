import { describe, expect, it } from 'vitest';
import type { SourceStream } from '../../src/sources/source.js';
import { scheduleStreams } from '../../src/sync/stream-scheduler.js';

/** A stream with only what the scheduler reads: its name and what it depends on. */
function stream(name: string, dependsOn: string[] = []): SourceStream {
  return { name, dependsOn } as unknown as SourceStream;
}

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('scheduleStreams', () => {
  it('starts a stream once its dependencies have ended, at most `limit` at once', async () => {
    const log: string[] = [];
    let running = 0;
    let most = 0;
    await scheduleStreams(
      [
        stream('schools'),
        stream('users', ['schools']),
        stream('terms'),
        stream('sections', ['users', 'terms']),
      ],
      async (s) => {
        log.push(`start ${s.name}`);
        most = Math.max(most, ++running);
        await tick();
        running--;
        log.push(`end ${s.name}`);
      },
      { limit: 1, failed: () => undefined, stopped: () => false },
    );
    expect(most).toBe(1);
    expect(log.indexOf('start users')).toBeGreaterThan(log.indexOf('end schools'));
    expect(log.indexOf('start sections')).toBeGreaterThan(log.indexOf('end users'));
    expect(log.indexOf('start sections')).toBeGreaterThan(log.indexOf('end terms'));
    expect(log.filter((l) => l.startsWith('start'))).toHaveLength(4);
  });

  it('starts nothing new once stopped, and waits for the streams running', async () => {
    const errors: unknown[] = [];
    const ended: string[] = [];
    await scheduleStreams(
      [stream('a'), stream('b'), stream('c', ['a'])],
      async (s) => {
        await tick();
        if (s.name === 'a') throw new Error('a failed');
        await tick();
        ended.push(s.name);
      },
      { limit: 2, failed: (err) => errors.push(err), stopped: () => errors.length > 0 },
    );
    expect(errors).toHaveLength(1);
    expect(ended).toEqual(['b']);
  });

  it('refuses streams whose dependencies never come', async () => {
    await expect(
      scheduleStreams([stream('a', ['nowhere'])], () => Promise.resolve(), {
        failed: () => undefined,
        stopped: () => false,
      }),
    ).rejects.toThrow(/unmet dependencies: a/);
  });
});
