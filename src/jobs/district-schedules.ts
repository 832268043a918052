import type { ScheduleInput } from '../model/schedule.js';
import type { Store } from '../store/store.js';
import { validateSchedule, resolveSchedule } from './schedule.js';
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
