import { districtConfigSchema } from '../model/district-config.js';
import type { DistrictConfig } from '../model/district-config.js';
import { RostersyncError } from '../shared/errors.js';
import type { Store } from '../store/store.js';
import { setScheduleParts } from './district-schedules.js';

/** A change of a district's settings: a partial settings object merged over the stored one, and/or its schedule. */
export interface DistrictSettingsChange {
  /** Merged key by key into the stored settings (objects recursively; arrays and values replace). */
  settings?: Record<string, unknown>;
  /** A null part: back to the default. */
  schedule?: { cron?: string | null; timezone?: string | null };
}

/** One thing wrong with a settings change: where (`settings.safetyValve.maxPercent`) and what. */
export interface SettingsIssue {
  path: string;
  message: string;
}

/** A settings change that does not validate; nothing of it was saved. */
export class InvalidSettingsError extends RostersyncError {
  constructor(readonly issues: SettingsIssue[]) {
    super('input', issues.map((i) => `${i.path}: ${i.message}`).join('; '));
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function merged(base: Record<string, unknown>, patch: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(patch)) {
    out[k] = isObject(v) && isObject(base[k]) ? merged(base[k], v) : v;
  }
  return out;
}

/**
 * Validates and saves a change of a district's settings (the API's `districts set`). Everything is
 * checked before anything is saved. As with `districts set`, a change clears "needs attention".
 * Districts declared in rostersync.yaml take their settings from there again on the next start.
 */
export async function changeDistrictSettings(
  store: Store,
  district: string,
  change: DistrictSettingsChange,
): Promise<DistrictConfig> {
  const row = await store.districts.get(district);
  if (!row) throw new RostersyncError('not_found', `district ${district} does not exist`);
  const next = merged(row.config, change.settings ?? {});
  const parsed = districtConfigSchema.safeParse(next);
  if (!parsed.success) {
    throw new InvalidSettingsError(
      parsed.error.issues.map((i) => ({
        path: ['settings', ...i.path.map(String)].join('.'),
        message: i.message,
      })),
    );
  }
  if (change.schedule && Object.keys(change.schedule).length > 0) {
    try {
      await setScheduleParts(store, district, change.schedule);
    } catch (err) {
      if (err instanceof RostersyncError)
        throw new InvalidSettingsError([{ path: 'schedule', message: err.message }]);
      throw err;
    }
  }
  await store.districts.setConfig(district, parsed.data);
  await store.service.clearAttention(district);
  return parsed.data;
}
