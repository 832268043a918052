import type { Admin } from '../../store/queries/admins.js';
import type { DistrictRow } from '../../store/queries/districts.js';
import type { Store } from '../../store/store.js';
import type { SyncRun } from '../../model/run.js';
import { describeDistricts } from '../district-schedules.js';
import type { DistrictServiceView } from '../district-schedules.js';
import { canSee } from './access.js';

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

export async function summarise(
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
