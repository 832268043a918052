import { afterEach, describe, expect, it, vi } from 'vitest';
import { EmbeddedRunner } from '../../src/jobs/embedded-runner.js';
import type { DistrictJobResult } from '../../src/jobs/run-district-job.js';
import { localStamp, nextFire } from '../../src/jobs/schedule.js';
import { Scheduler } from '../../src/jobs/scheduler.js';
import type { Schedule } from '../../src/model/schedule.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** Runs a scheduler on fake timers from `start` for `days` and returns each district's fires. */
async function fires(schedules: Record<string, Schedule>, start: string, days: number) {
  vi.useFakeTimers({ now: new Date(start) });
  const seen = new Map<string, Date[]>();
  const scheduler = new Scheduler({
    schedules: () => Promise.resolve(new Map(Object.entries(schedules))),
    onDue: (d) => seen.set(d, [...(seen.get(d) ?? []), new Date(Date.now())]),
  });
  await scheduler.start();
  await vi.advanceTimersByTimeAsync(days * DAY);
  scheduler.stop();
  return seen;
}

const local = (dates: Date[] | undefined, tz: string) => (dates ?? []).map((d) => localStamp(d, tz));

describe('schedules on a fake clock', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('spring forward: a time inside the gap fires once, right after it (New York and Berlin)', async () => {
    // 2026-03-08 in New York and 2026-03-29 in Berlin: 02:00-03:00 does not exist.
    const ny = await fires(
      { a: { cron: '30 2 * * *', timezone: 'America/New_York' } },
      '2026-03-06T12:00:00Z',
      4,
    );
    expect(local(ny.get('a'), 'America/New_York')).toEqual([
      '2026-03-07 02:30:00',
      '2026-03-08 03:00:00',
      '2026-03-09 02:30:00',
      '2026-03-10 02:30:00',
    ]);
    const be = await fires(
      { b: { cron: '30 2 * * *', timezone: 'Europe/Berlin' } },
      '2026-03-27T12:00:00Z',
      4,
    );
    expect(local(be.get('b'), 'Europe/Berlin')).toEqual([
      '2026-03-28 02:30:00',
      '2026-03-29 03:00:00',
      '2026-03-30 02:30:00',
      '2026-03-31 02:30:00',
    ]);
  });

  it('fall back: a time that happens twice fires once (New York and Berlin)', async () => {
    // 2026-11-01 in New York: 01:00-02:00 happens twice; 2026-10-25 in Berlin: 02:00-03:00 does.
    const ny = await fires(
      { a: { cron: '30 1 * * *', timezone: 'America/New_York' } },
      '2026-10-30T12:00:00Z',
      4,
    );
    expect(ny.get('a')?.map((d) => d.toISOString())).toEqual([
      '2026-10-31T05:30:00.000Z',
      '2026-11-01T05:30:00.000Z',
      '2026-11-02T06:30:00.000Z',
      '2026-11-03T06:30:00.000Z',
    ]);
    const be = await fires(
      { b: { cron: '30 2 * * *', timezone: 'Europe/Berlin' } },
      '2026-10-23T12:00:00Z',
      4,
    );
    expect(local(be.get('b'), 'Europe/Berlin')).toEqual([
      '2026-10-24 02:30:00',
      '2026-10-25 02:30:00',
      '2026-10-26 02:30:00',
      '2026-10-27 02:30:00',
    ]);
  });

  it('an hourly schedule across fall back fires once per wall-clock time', async () => {
    const seen = await fires(
      { h: { cron: '30 * * * *', timezone: 'America/New_York' } },
      '2026-11-01T03:00:00Z',
      0.25,
    );
    const stamps = local(seen.get('h'), 'America/New_York');
    expect(stamps).toContain('2026-11-01 01:30:00');
    expect(new Set(stamps).size).toBe(stamps.length);
  });

  it('the default schedule is 01:30 in the zone, and a repeated local time is skipped as a guard', () => {
    const at = nextFire(
      { cron: '30 1 * * *', timezone: 'America/New_York' },
      new Date('2026-11-01T05:00:00Z'),
    );
    expect(at?.toISOString()).toBe('2026-11-01T05:30:00.000Z');
    // Asked from inside the repeated hour with the first fire's local time: the second 01:30 is skipped.
    const again = nextFire(
      { cron: '30 * * * *', timezone: 'America/New_York' },
      new Date('2026-11-01T05:30:00Z'),
      '2026-11-01 01:30:00',
    );
    expect(localStamp(again!, 'America/New_York')).toBe('2026-11-01 02:30:00');
  });
});

describe('the embedded runner', () => {
  it('never runs one district twice at once; an ask during a run waits and runs after it', async () => {
    const active = new Map<string, number>();
    let maxPerDistrict = 0;
    let maxAll = 0;
    const started: string[] = [];
    const release: Array<() => void> = [];
    const runner = new EmbeddedRunner({
      concurrency: 2,
      run: async (job): Promise<DistrictJobResult> => {
        const n = (active.get(job.district) ?? 0) + 1;
        active.set(job.district, n);
        maxPerDistrict = Math.max(maxPerDistrict, n);
        maxAll = Math.max(
          maxAll,
          [...active.values()].reduce((a, b) => a + b, 0),
        );
        started.push(job.district);
        await new Promise<void>((r) => release.push(r));
        active.set(job.district, (active.get(job.district) ?? 1) - 1);
        return { status: 'succeeded', runId: null, reason: null, transient: false };
      },
    });
    // Overlapping ticks: the same districts asked for again and again while they run.
    for (let tick = 0; tick < 5; tick++) {
      for (const d of ['a', 'b', 'c']) await runner.enqueue({ district: d, origin: 'schedule' });
    }
    await Promise.resolve();
    expect(started).toEqual(['a', 'b']);
    expect(await runner.queueDepth()).toBe(3); // c, and one more run each of a and b
    while (started.length < 5) {
      release.shift()?.();
      await new Promise((r) => setImmediate(r));
    }
    while (release.length > 0) {
      release.shift()?.();
      await new Promise((r) => setImmediate(r));
    }
    await runner.idle();
    expect(maxPerDistrict).toBe(1);
    expect(maxAll).toBeLessThanOrEqual(2);
    expect(started.filter((d) => d === 'a')).toHaveLength(2);
    expect(started.filter((d) => d === 'c')).toHaveLength(1);
  });
});
