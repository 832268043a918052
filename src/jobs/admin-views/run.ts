import type { Admin } from '../../store/queries/admins.js';
import type { DistrictRow } from '../../store/queries/districts.js';
import type { Store } from '../../store/store.js';
import type { RunProblem, SyncRun } from '../../model/run.js';
import { RostersyncError } from '../../shared/errors.js';
import { approveRun, rejectRun } from '../../sync/run-control.js';
import { canSee, notFound, visibleDistrict } from './access.js';
import { displayName } from './accounts.js';

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
