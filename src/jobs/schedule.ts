import { Cron } from 'croner';
import { DEFAULT_CRON } from '../model/schedule.js';
import type { Schedule, ScheduleInput } from '../model/schedule.js';
import { RostersyncError } from '../shared/errors.js';

function isZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** The district's schedule with the defaults filled in (`30 1 * * *` in `defaultZone`). */
export function resolveSchedule(s: ScheduleInput | null | undefined, defaultZone: string): Schedule {
  return { cron: s?.cron ?? DEFAULT_CRON, timezone: s?.timezone ?? defaultZone };
}

/** Throws a `config` error naming what is wrong with the expression or the zone. */
export function validateSchedule(s: Schedule): void {
  if (!isZone(s.timezone)) throw new RostersyncError('config', `schedule: unknown time zone "${s.timezone}"`);
  try {
    new Cron(s.cron, { timezone: s.timezone, paused: true });
  } catch (err) {
    throw new RostersyncError(
      'config',
      `schedule: "${s.cron}" is not a cron expression: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
}

/** The wall-clock time of `at` in `tz`, to the second (`2026-11-01 01:30:00`). */
export function localStamp(at: Date, tz: string): string {
  return at.toLocaleString('sv-SE', { timeZone: tz });
}

/**
 * When a schedule fires next after `after`. A wall-clock time that does not exist on a DST change
 * (spring forward) fires once at the first valid time after the gap; one that repeats (fall back)
 * fires once, at its first occurrence: croner does both, and `lastLocal` (the local time of the
 * previous fire) is skipped as a second guard, so a time read twice never fires twice.
 */
export function nextFire(s: Schedule, after: Date, lastLocal: string | null = null): Date | null {
  const cron = new Cron(s.cron, { timezone: s.timezone, paused: true });
  let at = cron.nextRun(after);
  while (at !== null && lastLocal !== null && localStamp(at, s.timezone) === lastLocal) {
    at = cron.nextRun(at);
  }
  return at;
}
