import { z } from 'zod';

/** The default schedule: nightly at 01:30 in the district's zone (after SIS nightly jobs, before school). */
export const DEFAULT_CRON = '30 1 * * *';

/**
 * When a district runs by itself: a cron expression read in an IANA time zone. Both optional; a
 * missing one takes the default (`30 1 * * *`, and the service's `service.timezone`).
 */
export const scheduleSchema = z
  .object({
    /** Cron expression, 5 fields (minute hour day month weekday) or 6 with seconds first. */
    cron: z.string().min(1).optional(),
    /** IANA time zone, e.g. `America/Chicago`. */
    timezone: z.string().min(1).optional(),
  })
  .strict();
export type ScheduleInput = z.infer<typeof scheduleSchema>;

/** A schedule with both parts decided. */
export interface Schedule {
  cron: string;
  timezone: string;
}
