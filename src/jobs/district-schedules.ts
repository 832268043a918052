import type { ScheduleInput } from '../model/schedule.js';
import type { Store } from '../store/store.js';
import { nextFire, resolveSchedule, validateSchedule } from './schedule.js';
import type { Schedule } from '../model/schedule.js';

/**
 * Stores a district's schedule from configuration (rostersync.yaml) when it differs from the stored
 * one. A missing part stays null in the store, meaning "the default".
 */
export async function applyScheduleConfig(
  store: Store,
  district: string,
  input: ScheduleInput,
): Promise<void> {
  validateSchedule(resolveSchedule(input, 'UTC'));
  const stored = await store.service.get(district);
  const cron = input.cron ?? null;
  const timezone = input.timezone ?? null;
  if (stored?.cron !== cron || stored.timezone !== timezone || stored === undefined)
    await store.service.setSchedule(district, cron, timezone);
}

/** Every district's schedule, defaults filled in (`30 1 * * *` in `defaultZone`). */
export async function loadSchedules(store: Store, defaultZone: string): Promise<Map<string, Schedule>> {
  const states = new Map((await store.service.list()).map((s) => [s.district, s]));
  const out = new Map<string, Schedule>();
  for (const d of await store.districts.list()) {
    const s = states.get(d.id);
    out.set(
      d.id,
      resolveSchedule(
        { ...(s?.cron ? { cron: s.cron } : {}), ...(s?.timezone ? { timezone: s.timezone } : {}) },
        defaultZone,
      ),
    );
  }
  return out;
}

export interface DistrictServiceView {
  cron: string;
  timezone: string;
  /** True when the schedule is the default one. */
  defaultSchedule: boolean;
  /** When the schedule fires next (ISO), or null. */
  nextRun: string | null;
  attention: string | null;
  /** The drop folder of a CSV district; null for a Clever district. */
  csvFolder: string | null;
}

/** The schedule, next run and "needs attention" mark of every district, for `districts list|show`. */
export async function describeDistricts(
  store: Store,
  defaultZone: string,
  now: Date = new Date(),
): Promise<Map<string, DistrictServiceView>> {
  const states = new Map((await store.service.list()).map((s) => [s.district, s]));
  const out = new Map<string, DistrictServiceView>();
  for (const [id, s] of await loadSchedules(store, defaultZone)) {
    const st = states.get(id);
    let next: string | null;
    try {
      next = nextFire(s, now)?.toISOString() ?? null;
    } catch {
      next = null;
    }
    out.set(id, {
      ...s,
      defaultSchedule: !st?.cron && !st?.timezone,
      nextRun: next,
      attention: st?.attention ?? null,
      csvFolder: st?.csvFolder ?? null,
    });
  }
  return out;
}

/**
 * Applies `schedule.cron=…` / `schedule.timezone=…` settings (an empty value: back to the default).
 * Changing a district's settings clears "needs attention": the schedule tries it again.
 */
export async function setScheduleParts(
  store: Store,
  district: string,
  parts: { cron?: string | null; timezone?: string | null },
): Promise<void> {
  const st = await store.service.get(district);
  const cron = parts.cron !== undefined ? parts.cron || null : (st?.cron ?? null);
  const timezone = parts.timezone !== undefined ? parts.timezone || null : (st?.timezone ?? null);
  validateSchedule(resolveSchedule({ ...(cron ? { cron } : {}), ...(timezone ? { timezone } : {}) }, 'UTC'));
  await store.service.setSchedule(district, cron, timezone);
}
