import type { Admin } from '../../store/queries/admins.js';
import { API_KEY_SCOPES } from '../../store/queries/api-keys.js';
import type { ApiKeyScope } from '../../store/queries/api-keys.js';
import { createApiKey, listApiKeys, revokeApiKey } from '../../accounts/api-keys.js';
import type { ApiKeyInfo } from '../../accounts/api-keys.js';
import type { DistrictRow } from '../../store/queries/districts.js';
import type { OverrideRow } from '../../store/queries/overrides.js';
import type { WebhookEndpoint } from '../../store/queries/webhooks.js';
import type { AccountSignIns } from '../../store/queries/sign-ins.js';
import type { Store } from '../../store/store.js';
import { randomBytes, randomUUID } from 'node:crypto';
import type { Account, AccountChange } from '../../model/account.js';
import type { PersonName } from '../../model/entities.js';
import type { AccountSummary } from '../../store/queries/account-search.js';
import type { SecretBox } from '../../store/secrets.js';
import type { RunProblem, SyncRun } from '../../model/run.js';
import type { School } from '../../model/entities.js';
import type { SchoolFilter } from '../../model/district-config.js';
import type { RunReport } from '../../sync/run-report.js';
import { describeDistricts } from '../district-schedules.js';
import type { DistrictServiceView } from '../district-schedules.js';
import { RostersyncError } from '../../shared/errors.js';
import { SchoolScope } from '../../sync/filter.js';
import { approveRun, rejectRun } from '../../sync/run-control.js';

/**
 * What the admin pages show, read through the store: one function per page, each scoped to what
 * the signed-in admin may see (a district admin sees their district only; anything else is "not
 * found", so a district admin cannot even learn that another district exists).
 */

export type DistrictState =
  'held' | 'failed' | 'attention' | 'late' | 'running' | 'problems' | 'succeeded' | 'never';

/** Words for each state (never colour alone) and who must act. */
export const STATE_LABELS: Record<DistrictState, { label: string; owner: string }> = {
  held: { label: 'Held – needs review', owner: 'district' },
  failed: { label: 'Failed', owner: 'support' },
  attention: { label: 'Needs attention', owner: 'support' },
  late: { label: 'Late', owner: 'support' },
  running: { label: 'Running', owner: 'nobody' },
  problems: { label: 'Succeeded with problems', owner: 'district' },
  succeeded: { label: 'Succeeded', owner: 'nobody' },
  never: { label: 'Never run', owner: 'support' },
};
const ORDER: DistrictState[] = [
  'held',
  'failed',
  'attention',
  'late',
  'running',
  'problems',
  'never',
  'succeeded',
];

/** A district is late when its last good run is older than this many days (twice the nightly schedule). */
const LATE_AFTER_MS = 2 * 24 * 3600_000;

export function canSee(admin: Admin, district: string): boolean {
  return admin.district === null || admin.district === district;
}

function notFound(what: string): RostersyncError {
  return new RostersyncError('not_found', `${what} does not exist`);
}

async function visibleDistrict(store: Store, admin: Admin, id: string): Promise<DistrictRow> {
  const d = canSee(admin, id) ? await store.districts.get(id) : undefined;
  if (!d) throw notFound(`district ${id}`);
  return d;
}

export interface ChartPoint {
  runId: string;
  at: string;
  active: number;
  changes: number;
}

export interface DistrictSummary {
  id: string;
  name: string;
  source: 'Clever' | 'CSV';
  state: DistrictState;
  label: string;
  owner: string;
  lastRun: SyncRun | null;
  lastSuccess: SyncRun | null;
  nextRun: string | null;
  attention: string | null;
  activeAccounts: number;
  chart: ChartPoint[];
}

function stateOf(
  last: SyncRun | null,
  lastOk: SyncRun | null,
  svc: DistrictServiceView | undefined,
  now: Date,
): DistrictState {
  if (!last) return 'never';
  if (last.status === 'held') return 'held';
  if (last.status === 'running') return 'running';
  if (svc?.attention) return 'attention';
  if (last.status === 'failed') return 'failed';
  if (!lastOk || now.getTime() - Date.parse(lastOk.startedAt) > LATE_AFTER_MS) return 'late';
  return last.problemCount > 0 ? 'problems' : 'succeeded';
}

/** Account changes of a run: created, changed, deactivated and reactivated accounts. */
function accountChanges(r: SyncRun): number {
  const a = r.counts.accounts;
  return a.provisioned + a.linked + a.updated + a.deactivated + a.reactivated;
}

/**
 * Active accounts after each of the last `n` runs, oldest first. Counted back from today's total
 * through each run's net change (provisioned + reactivated − deactivated), since the store keeps
 * today's accounts, not a daily snapshot.
 */
function chartOf(runs: SyncRun[], activeNow: number, n = 30): ChartPoint[] {
  const done = runs.filter((r) => r.mode !== 'plan' && r.status !== 'running').slice(0, n);
  const out: ChartPoint[] = [];
  let active = activeNow;
  for (const r of done) {
    out.push({ runId: r.id, at: r.startedAt, active, changes: accountChanges(r) });
    const a = r.counts.accounts;
    active = Math.max(0, active - a.provisioned - a.reactivated + a.deactivated);
  }
  return out.reverse();
}

async function summarise(
  store: Store,
  d: DistrictRow,
  svc: DistrictServiceView | undefined,
  now: Date,
): Promise<DistrictSummary> {
  const runs = (await store.runs.list({ district: d.id, limit: 60 })).filter((r) => r.mode !== 'plan');
  const last = runs[0] ?? null;
  const lastOk = runs.find((r) => r.status === 'succeeded') ?? null;
  const counts = await store.accounts.countsByKind(d.id);
  const active = counts.student.active + counts.staff.active + counts.guardian.active;
  const state = stateOf(last, lastOk, svc, now);
  return {
    id: d.id,
    name: d.name,
    source: svc?.csvFolder ? 'CSV' : 'Clever',
    state,
    ...STATE_LABELS[state],
    lastRun: last,
    lastSuccess: lastOk,
    nextRun: svc?.nextRun ?? null,
    attention: svc?.attention ?? null,
    activeAccounts: active,
    chart: chartOf(runs, active),
  };
}

export interface Dashboard {
  districts: DistrictSummary[];
  /** Districts per state, for the summary strip. */
  tally: Array<{ state: DistrictState; label: string; count: number }>;
}

/** Every district the admin may see, those needing someone first, then by name. */
export async function dashboard(
  store: Store,
  admin: Admin,
  opts: { timezone: string; state?: string; now?: Date },
): Promise<Dashboard> {
  const now = opts.now ?? store.clock();
  const svc = await describeDistricts(store, opts.timezone, now);
  const all: DistrictSummary[] = [];
  for (const d of await store.districts.list())
    if (canSee(admin, d.id)) all.push(await summarise(store, d, svc.get(d.id), now));
  all.sort((a, b) => ORDER.indexOf(a.state) - ORDER.indexOf(b.state) || a.name.localeCompare(b.name));
  const tally = ORDER.map((state) => ({
    state,
    label: STATE_LABELS[state].label,
    count: all.filter((d) => d.state === state).length,
  })).filter((t) => t.count > 0);
  return { districts: opts.state ? all.filter((d) => d.state === opts.state) : all, tally };
}

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
  runs: SyncRun[];
  queued: boolean;
}

export async function districtPage(
  store: Store,
  admin: Admin,
  id: string,
  opts: { timezone: string; now?: Date },
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
  const runs = (await store.runs.list({ district: id, limit: 50 })).filter((r) => r.mode !== 'plan');
  const queued = (await store.service.queuedRequests(1000)).some((r) => r.district === id);
  return {
    summary,
    district,
    schedule,
    schools,
    filterHasRules: !!f && (f.sisIds.length > 0 || f.schoolNumbers.length > 0 || f.namePatterns.length > 0),
    runs,
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

export interface PendingAccount {
  id: string;
  kind: string;
  name: string;
  recordId: string | null;
}

export interface RunPage {
  run: SyncRun;
  district: DistrictRow;
  problems: RunProblem[];
  /** Problems matching the search, of those stored. */
  query: string;
  severity: string;
  problemTally: Array<{ key: string; count: number }>;
  pendingArchives: Partial<Record<string, number>>;
  /** Held runs: accounts approval would deactivate (all of them, up to the cap) and their count per kind. */
  pendingByKind: Record<string, number>;
  /** One page of them, in account id order, after `pendingAfter`. */
  pendingAccounts: PendingAccount[];
  pendingAfter: string;
  pendingTotal: number;
  /** A newer run has looked at the district since: this one cannot be resolved any more. */
  supersededBy: SyncRun | null;
}

/** Accounts a held run's page lists at a time (the CSV has them all). */
export const PENDING_PAGE_SIZE = 100;

export function displayName(a: { name: PersonName }): string {
  const n = a.name;
  return [n.preferredFirst ?? n.first, n.preferredLast ?? n.last].filter(Boolean).join(' ') || '(no name)';
}

function matches(p: RunProblem, q: string): boolean {
  if (!q) return true;
  const s = q.toLowerCase();
  return [p.entity, p.recordId ?? '', p.field ?? '', p.reason, p.severity].some((v) =>
    v.toLowerCase().includes(s),
  );
}

async function pendingPage(
  store: Store,
  run: SyncRun,
  limit: number,
  after?: string,
): Promise<PendingAccount[]> {
  const ids = await store.pendingDeactivations.accountIds(run.id, run.district, limit, after);
  const accounts = await store.accounts.getMany(ids);
  return ids.flatMap((id) => {
    const a = accounts.get(id);
    return a ? [{ id, kind: a.kind, name: displayName(a), recordId: a.recordSourceId }] : [];
  });
}

/** Every account approving a held run would deactivate, as CSV (account_id, kind, source_id, name). */
export async function pendingCsv(store: Store, admin: Admin, runId: string): Promise<string> {
  const run = await store.runs.get(runId);
  if (!run || !canSee(admin, run.district)) throw notFound(`run ${runId}`);
  const lines = ['account_id,kind,source_id,name'];
  if (run.status === 'held') {
    let after: string | undefined;
    for (;;) {
      const part = await pendingPage(store, run, 1000, after);
      for (const a of part) lines.push([a.id, a.kind, a.recordId, a.name].map(csvCell).join(','));
      if (part.length < 1000) break;
      after = part[part.length - 1]!.id;
    }
  }
  return lines.join('\r\n') + '\r\n';
}

function csvCell(v: string | null): string {
  const s = v ?? '';
  // A leading = + - @ would run as a formula in a spreadsheet.
  const safe = /^[=+\-@]/.test(s) ? `'${s}` : s;
  return /[",\n\r]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

export async function runPage(
  store: Store,
  admin: Admin,
  runId: string,
  opts: { q?: string; severity?: string; after?: string } = {},
): Promise<RunPage> {
  const run = await store.runs.get(runId);
  if (!run || !canSee(admin, run.district)) throw notFound(`run ${runId}`);
  const district = await visibleDistrict(store, admin, run.district);
  const all = await store.runs.problems(runId, 10_000);
  const q = (opts.q ?? '').trim();
  const severity = opts.severity === 'error' || opts.severity === 'warning' ? opts.severity : '';
  const problems = all.filter((p) => matches(p, q) && (!severity || p.severity === severity));
  const tally = new Map<string, number>();
  for (const p of all)
    tally.set(
      `${p.entity}${p.field ? `.${p.field}` : ''}`,
      (tally.get(`${p.entity}${p.field ? `.${p.field}` : ''}`) ?? 0) + 1,
    );
  let pendingByKind: Record<string, number> = {};
  let pendingAccounts: PendingAccount[] = [];
  let supersededBy: SyncRun | null = null;
  if (run.status === 'held') {
    pendingByKind = await store.pendingDeactivations.countsByKind(runId, run.district);
    pendingAccounts = await pendingPage(store, run, PENDING_PAGE_SIZE, opts.after);
    supersededBy =
      (await store.runs.list({ district: run.district, limit: 50 })).find(
        (r) =>
          r.source === run.source && r.mode !== 'plan' && r.id !== run.id && r.startedAt >= run.startedAt,
      ) ?? null;
  }
  return {
    run,
    district,
    problems,
    query: q,
    severity,
    problemTally: [...tally].map(([key, count]) => ({ key, count })).sort((a, b) => b.count - a.count),
    pendingArchives: await store.runs.pendingArchiveCounts(runId),
    pendingByKind,
    pendingAccounts,
    pendingAfter: opts.after ?? '',
    pendingTotal: Object.values(pendingByKind).reduce((a, n) => a + n, 0),
    supersededBy,
  };
}

/** The run's problems (filtered as on the page) as CSV rows with stable columns and no names. */
export async function runProblemsCsv(
  store: Store,
  admin: Admin,
  runId: string,
  opts: { q?: string; severity?: string } = {},
): Promise<string> {
  const page = await runPage(store, admin, runId, opts);
  const lines = ['source_id,entity,field,severity,message'];
  for (const p of page.problems)
    lines.push([p.recordId, p.entity, p.field, p.severity, p.reason].map(csvCell).join(','));
  return lines.join('\r\n') + '\r\n';
}

/**
 * Approves a held run as its page showed it: `expected` is the number of accounts the page said
 * approval deactivates; if that changed since (the store moved on), nothing is applied and a
 * `conflict` asks for a fresh review. A newer run of the district also refuses (see run-control).
 */
export async function approveShownRun(
  store: Store,
  admin: Admin,
  runId: string,
  expected: string,
): Promise<SyncRun> {
  const shown = await runPage(store, admin, runId);
  if (expected !== String(shown.pendingTotal))
    throw new RostersyncError(
      'conflict',
      `what run ${runId} would deactivate changed since you looked (now ${shown.pendingTotal} accounts): review it again before approving`,
    );
  return approveRun(store, runId);
}

/** Rejects a held run of one of the admin's districts: nothing is archived or deactivated. */
export async function rejectHeldRun(store: Store, admin: Admin, runId: string): Promise<SyncRun> {
  const run = await store.runs.get(runId);
  if (!run || !canSee(admin, run.district)) throw notFound(`run ${runId}`);
  return rejectRun(store, runId);
}

export interface AccountPage {
  account: Account;
  district: DistrictRow;
  name: string;
  overrides: OverrideRow[];
  history: AccountChange[];
  /** More history is older than what is shown. */
  moreHistory: boolean;
  /** Clever sign-ins onto this account and refused logins; null: never tried. */
  signIns: AccountSignIns | null;
}

export async function accountPage(store: Store, admin: Admin, id: string): Promise<AccountPage> {
  const d = await store.accountSearch.detail(id, { historyLimit: 200 });
  if (!d || !canSee(admin, d.account.district)) throw notFound(`account ${id}`);
  const district = await visibleDistrict(store, admin, d.account.district);
  return {
    account: d.account,
    district,
    name: displayName(d.account),
    overrides: d.overrides,
    history: d.history,
    moreHistory: d.historyBefore !== null,
    signIns: (await store.signIns.get(id)) ?? null,
  };
}

export interface AccountHit extends AccountSummary {
  displayName: string;
}

/**
 * Accounts matching a search box: those holding the text exactly as an identifier first (account
 * id, record id, any login identity), then name and email matches; within the admin's districts.
 */
export async function searchAccounts(
  store: Store,
  admin: Admin,
  q: string,
  limit = 50,
): Promise<AccountHit[]> {
  const text = q.trim();
  if (!text) return [];
  const scope = admin.district !== null ? { district: admin.district } : {};
  const exact = await store.accountSearch.search({ ...scope, identifier: text, limit });
  const fuzzy = await store.accountSearch.search({ ...scope, text, limit });
  const seen = new Set<string>();
  const out: AccountHit[] = [];
  for (const a of [...exact.items, ...fuzzy.items]) {
    if (seen.has(a.id) || out.length >= limit) continue;
    seen.add(a.id);
    out.push({ ...a, displayName: displayName(a) });
  }
  return out;
}

/** Adds a webhook for the account change feed from now on; returns its signing secret (shown once). */
export async function addWebhook(
  store: Store,
  admin: Admin,
  url: string,
  box: () => SecretBox,
): Promise<string> {
  await webhooksPage(store, admin);
  if (!/^https?:\/\/\S+$/.test(url))
    throw new RostersyncError('input', 'The address must start with https:// or http://.');
  const secret = randomBytes(24).toString('base64url');
  await store.webhooks.add(
    { id: randomUUID(), url, secret, cursor: await store.changeFeed.lastSeq() },
    box(),
  );
  return secret;
}

export async function removeWebhook(store: Store, admin: Admin, id: string): Promise<void> {
  await webhooksPage(store, admin);
  if (!(await store.webhooks.remove(id))) throw notFound(`webhook ${id}`);
}

export function webhooksPage(store: Store, admin: Admin): Promise<WebhookEndpoint[]> {
  if (admin.district !== null) throw new RostersyncError('auth', 'only vendor admins manage webhooks');
  return store.webhooks.list();
}

/**
 * Keys of the REST API, revoked ones included. Vendor admins only: a key reads every district, so a
 * district admin holding one would see past their district.
 */
export function apiKeysPage(store: Store, admin: Admin): Promise<ApiKeyInfo[]> {
  if (admin.district !== null) throw new RostersyncError('auth', 'only vendor admins manage API keys');
  return listApiKeys(store);
}

/** Creates a key; the returned token is the only copy there will be (only its hash is stored). */
export async function addApiKey(
  store: Store,
  admin: Admin,
  name: string,
  scope: string,
): Promise<{ key: ApiKeyInfo; token: string }> {
  await apiKeysPage(store, admin);
  if (!(API_KEY_SCOPES as readonly string[]).includes(scope))
    throw new RostersyncError('input', `The scope must be one of: ${API_KEY_SCOPES.join(', ')}.`);
  return createApiKey(store, { name, scope: scope as ApiKeyScope });
}

export async function revokeKey(store: Store, admin: Admin, id: string): Promise<void> {
  await apiKeysPage(store, admin);
  await revokeApiKey(store, id);
}
