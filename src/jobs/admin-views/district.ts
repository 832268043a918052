import type { Admin } from '../../store/queries/admins.js';
import type { DistrictRow } from '../../store/queries/districts.js';
import type { Store } from '../../store/store.js';
import type { RunStatus, SyncRun } from '../../model/run.js';
import type { School } from '../../model/entities.js';
import type { SchoolFilter } from '../../model/district-config.js';
import type { RunReport } from '../../sync/run-report.js';
import { describeDistricts } from '../district-schedules.js';
import type { DistrictServiceView } from '../district-schedules.js';
import { SchoolScope } from '../../sync/filter.js';
import { visibleDistrict } from './access.js';
import { summarise } from './dashboard.js';
import type { DistrictSummary } from './dashboard.js';

export interface SchoolRow {
  id: string;
  name: string;
  sisId: string | null;
  /** Whether the current filter lets it in. */
  included: boolean;
  /** Stored students whose primary school this is: active now, and archived (filtered out or gone). */
  activeStudents: number;
  archivedStudents: number;
  /** The school record is archived (filtered out or gone from the source). */
  archived: boolean;
}

export interface DistrictPage {
  summary: DistrictSummary;
  district: DistrictRow;
  schedule: DistrictServiceView | undefined;
  schools: SchoolRow[];
  /** The filter is more than a list of ids (patterns, SIS ids, numbers): saving the editor replaces it. */
  filterHasRules: boolean;
  /** One page of the run history, newest first (see HistoryQuery). */
  runs: SyncRun[];
  history: {
    /** The status the history is filtered to, if any. */
    status: RunStatus | null;
    /** The last run shown, when older ones follow: the next page starts after it. */
    older: string | null;
    /** The page is not the newest one. */
    paged: boolean;
  };
  queued: boolean;
}

/** Runs per page of a district's history. */
export const HISTORY_PAGE = 25;

/** Which page of a district's run history to show: runs of one status, older than run `older`. */
export interface HistoryQuery {
  status?: RunStatus | undefined;
  older?: string | undefined;
}

export async function districtPage(
  store: Store,
  admin: Admin,
  id: string,
  opts: { timezone: string; now?: Date; history?: HistoryQuery },
): Promise<DistrictPage> {
  const district = await visibleDistrict(store, admin, id);
  const now = opts.now ?? store.clock();
  const schedule = (await describeDistricts(store, opts.timezone, now)).get(id);
  const summary = await summarise(store, district, schedule, now);
  const scope = new SchoolScope(district.config.schoolFilter);
  const perSchool = await store.records.studentsPerSchool(id);
  const schools: SchoolRow[] = [];
  let after: string | undefined;
  for (;;) {
    const page = await store.records.list({ district: id }, 'schools', {
      active: false,
      limit: 1000,
      ...(after !== undefined ? { after } : {}),
    });
    for (const s of page) {
      const data: School = s.data;
      const n = perSchool.get(s.sourceId) ?? { active: 0, archived: 0 };
      schools.push({
        id: s.sourceId,
        name: data.name,
        sisId: data.sisId ?? null,
        included: scope.matches(s.sourceId, data),
        activeStudents: n.active,
        archivedStudents: n.archived,
        archived: s.archivedAt !== null,
      });
    }
    if (page.length < 1000) break;
    after = page[page.length - 1]!.sourceId;
  }
  schools.sort((a, b) => a.name.localeCompare(b.name));
  const f = district.config.schoolFilter;
  const q = opts.history ?? {};
  // A page starts after a run of this district; any other id starts at the newest.
  const from = q.older !== undefined ? await store.runs.get(q.older) : undefined;
  const before = from && from.district === id ? { startedAt: from.startedAt, id: from.id } : undefined;
  const found = await store.runs.list({
    district: id,
    modes: ['sync', 'import'],
    limit: HISTORY_PAGE + 1,
    ...(q.status ? { status: q.status } : {}),
    ...(before ? { before } : {}),
  });
  const runs = found.slice(0, HISTORY_PAGE);
  const queued = (await store.service.queuedRequests(1000)).some((r) => r.district === id);
  return {
    summary,
    district,
    schedule,
    schools,
    filterHasRules: !!f && (f.sisIds.length > 0 || f.schoolNumbers.length > 0 || f.namePatterns.length > 0),
    runs,
    history: {
      status: q.status ?? null,
      older: found.length > HISTORY_PAGE ? runs[runs.length - 1]!.id : null,
      paged: before !== undefined,
    },
    queued,
  };
}

export interface FilterChange {
  /** Schools the new filter takes out / brings in, with their students. */
  out: SchoolRow[];
  in: SchoolRow[];
  studentsOut: number;
  studentsIn: number;
}

/**
 * Saves a school filter chosen in the editor (the schools to include) and asks for a run now, which
 * applies it: any deactivations it causes go through the safety valve like any run's. All schools
 * checked means no filter. Returns what the change moves.
 */
export async function saveSchoolFilter(
  store: Store,
  admin: Admin,
  id: string,
  include: readonly string[],
  opts: { timezone: string },
): Promise<FilterChange> {
  const page = await districtPage(store, admin, id, opts);
  const wanted = new Set(include);
  await store.districts.setConfig(id, { ...page.district.config, schoolFilter: filterOf(page, include) });
  await store.service.requestRun(id, 'manual');
  const out = page.schools.filter((s) => s.included && !wanted.has(s.id));
  const inn = page.schools.filter((s) => !s.included && wanted.has(s.id));
  return {
    out,
    in: inn,
    studentsOut: out.reduce((a, s) => a + s.activeStudents, 0),
    studentsIn: inn.reduce((a, s) => a + s.archivedStudents, 0),
  };
}

/** Runs a plan of a district with a given school filter (composed by `serve`: token, Clever settings). */
export type PlanSchoolFilter = (district: string, filter: SchoolFilter | null) => Promise<RunReport>;

export interface FilterPreview {
  /** The schools as the editor sent them (checked = included). */
  schools: SchoolRow[];
  report: RunReport;
}

/** The school filter an editor's checked schools make (every school checked: no filter). */
function filterOf(page: DistrictPage, include: readonly string[]): SchoolFilter | null {
  const wanted = new Set(include);
  if (page.schools.every((s) => wanted.has(s.id))) return null;
  const ids = page.schools.filter((s) => wanted.has(s.id)).map((s) => s.id);
  return { mode: 'include', ids: ids.sort(), sisIds: [], schoolNumbers: [], namePatterns: [] };
}

/**
 * What saving the editor's school filter would do, from a plan (a sync that writes nothing) of the
 * district with that filter: records archived and restored, accounts deactivated and reactivated.
 */
export async function previewSchoolFilter(
  store: Store,
  admin: Admin,
  id: string,
  include: readonly string[],
  opts: { timezone: string; plan: PlanSchoolFilter },
): Promise<FilterPreview> {
  const page = await districtPage(store, admin, id, opts);
  const wanted = new Set(include);
  return {
    schools: page.schools.map((s) => ({ ...s, included: wanted.has(s.id) })),
    report: await opts.plan(id, filterOf(page, include)),
  };
}

export async function requestRunNow(store: Store, admin: Admin, id: string): Promise<void> {
  await visibleDistrict(store, admin, id);
  await store.service.requestRun(id, 'manual');
}
