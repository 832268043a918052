import type { AccountKind } from '../model/account.js';
import type { SyncRun } from '../model/run.js';
import type { Store } from '../store/store.js';

export interface DistrictTotals {
  schools: number;
  terms: number;
  courses: number;
  sections: number;
  students: number;
  staff: number;
  staffByRole: Record<string, number>;
  contacts: number;
  enrollments: { students: number; teachers: number };
}

export interface DistrictStatus {
  id: string;
  name: string;
  cleverDistrictId: string | null;
  totals: DistrictTotals;
  accounts: Record<AccountKind, { active: number; inactive: number }>;
  runs: SyncRun[];
  /** The district's event cursor and last full sync (see sync-kind.ts); null before any full sync. */
  events: { cursor: boolean; lastFullAt: string | null; lastFullRunId: string | null } | null;
}

export interface Status {
  database: string;
  districts: DistrictStatus[];
}

/** Active totals per entity and the last runs, per district (or for one district). */
export async function getStatus(
  store: Store,
  opts: { district?: string; runs?: number } = {},
): Promise<Status> {
  const districts = opts.district
    ? [await store.districts.get(opts.district)].filter((d) => d !== undefined)
    : await store.districts.list();
  const out: DistrictStatus[] = [];
  for (const d of districts) {
    const scope = { district: d.id };
    // A held run's re-keys leave each person's old record active beside the new one until it is
    // approved: one person, counted once.
    const twice = await store.pendingRekeys.unsettledOldRecords(d.id);
    const twiceByRole = twice.staff ? await store.pendingRekeys.unsettledOldStaffRoles(d.id) : {};
    const staffByRole = await store.records.staffRoleCounts(d.id);
    for (const [role, n] of Object.entries(twiceByRole)) staffByRole[role] = (staffByRole[role] ?? 0) - n;
    out.push({
      id: d.id,
      name: d.name,
      cleverDistrictId: d.cleverDistrictId,
      totals: {
        schools: await store.records.count(scope, 'schools'),
        terms: await store.records.count(scope, 'terms'),
        courses: await store.records.count(scope, 'courses'),
        sections: await store.records.count(scope, 'sections'),
        students: (await store.records.count(scope, 'students')) - (twice.students ?? 0),
        staff: (await store.records.count(scope, 'staff')) - (twice.staff ?? 0),
        staffByRole,
        contacts: (await store.records.count(scope, 'contacts')) - (twice.contacts ?? 0),
        enrollments: await store.links.enrollmentCounts(d.id),
      },
      accounts: await store.accounts.countsByKind(d.id),
      runs: await store.runs.list({ district: d.id, limit: opts.runs ?? 5 }),
      events: await eventState(store, d.id),
    });
  }
  return { database: store.location, districts: out };
}

async function eventState(store: Store, district: string): Promise<DistrictStatus['events']> {
  const e = await store.eventCursors.get(district);
  if (!e) return null;
  return { cursor: e.cursor !== null, lastFullAt: e.lastFullAt, lastFullRunId: e.lastFullRunId };
}
