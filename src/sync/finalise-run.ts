import { applyPendingDeactivations, deactivateForArchived } from '../accounts/deactivation.js';
import { ENTITIES, SOURCE_PRECEDENCE, SOURCES } from '../model/entities.js';
import type { Entity } from '../model/entities.js';
import type { RunCounts } from '../model/run.js';
import type { RecordScope } from '../store/queries/records.js';
import type { Store } from '../store/store.js';
import type { RunContext } from './run-context.js';
import { applyRunRekeys } from './rekeys.js';
import { activeCountNeeded, evaluateSafetyValve } from './safety-valve.js';

/** Ids written per archive transaction. */
export const ARCHIVE_CHUNK = 5000;

export interface RunOutcome {
  status: 'succeeded' | 'held';
  /** Why the run is held; null when it succeeded. */
  reason: string | null;
  /** For a held run: what it would archive per entity once approved. */
  pending: Partial<Record<Entity, number>>;
}

/**
 * Ends a run whose streams were all read: retires what lower sources left, then puts what the run
 * would archive and deactivate to the safety valve. Held, nothing is removed (the run's ledger keeps
 * it for `runs approve`); passed, the removals take effect and are counted.
 */
export async function finaliseRun(run: RunContext): Promise<RunOutcome> {
  const { store, ledger } = run;
  await retireLowerSources(run);
  const pending = await ledger.pendingArchiveCounts();
  const deactivating = await ledger.pendingDeactivationCounts(pending);
  // Re-keys deactivate no one: weighed apart, and holding a run only where the district asks.
  const rekeying = await ledger.pendingRekeyCounts();
  const valveOpts = {
    maxPercent: run.config.safetyValve.maxPercent,
    minCount: run.config.safetyValve.minCount,
    holdRekeys: run.config.safetyValve.holdRekeys ?? false,
  };
  // Hand-made accounts are never deactivated by a run, so they do not dilute the percentage. Each
  // kind is counted only as far as the valve's decision needs (see activeCountNeeded).
  const weigh = async (kind: 'student' | 'staff', exact: boolean) => {
    const k = { removing: deactivating[kind] ?? 0, rekeying: rekeying[kind] ?? 0 };
    const upTo = exact ? Infinity : activeCountNeeded(k, valveOpts);
    return { active: await store.accounts.activeSyncCountUpTo(run.district!, kind, upTo), ...k };
  };
  const kinds: Record<string, { active: number; removing: number; rekeying?: number }> = {
    students: await weigh('student', false),
    staff: await weigh('staff', false),
  };
  const emptied: string[] = [];
  for (const e of run.emptied) {
    emptied.push(e);
    if (e !== 'students' && e !== 'staff')
      kinds[e] = { active: await store.records.count(run.recordScope(), e), removing: 0 };
  }
  let valve = evaluateSafetyValve({ kinds, emptiedKinds: emptied, ...valveOpts });
  if (valve.hold) {
    // The same decision; the reasons name the whole active counts.
    kinds.students = await weigh('student', true);
    kinds.staff = await weigh('staff', true);
    valve = evaluateSafetyValve({ kinds, emptiedKinds: emptied, ...valveOpts });
  }
  const totalDeactivating = Object.values(deactivating).reduce((a, b) => a + b, 0);
  if (valve.hold) {
    run.counts.accounts.held += totalDeactivating;
    run.logger.warn(
      { district: run.district, run: run.runId, pending, deactivating, rekeying },
      'run held by the safety valve',
    );
    return { status: 'held', reason: `held by the safety valve: ${valve.reasons.join('; ')}`, pending };
  }
  await ledger.applyRemovals(pending, totalDeactivating);
  return { status: 'succeeded', reason: null, pending: {} };
}

/**
 * A district on a higher source (Clever) no longer sends a lower one (CSV): what the lower source
 * left active and this run did not take over is retired, through the same valve as any archive.
 * Off per district with `csv.retireWhenOnClever: false` (people rostered from both).
 */
async function retireLowerSources(run: RunContext): Promise<void> {
  if (!run.config.csv.retireWhenOnClever) return;
  const lower = SOURCES.filter(
    (s) => s !== 'manual' && SOURCE_PRECEDENCE[s] < SOURCE_PRECEDENCE[run.source.kind],
  );
  for (const source of lower) {
    const scope: RecordScope = { district: run.district!, source };
    for (const entity of ENTITIES) {
      for (let after: string | null = null; ;) {
        const page = await run.store.records.activeIdsPage(scope, entity, after, ARCHIVE_CHUNK);
        if (page.length === 0) break;
        after = page[page.length - 1]!;
        await run.ledger.retire(source, entity, page);
      }
    }
  }
}

/**
 * Applies what a run found absent: first its re-keys (the accounts move to their people's new
 * records, see rekeys.ts), then archives the records (dependents first) and deactivates the
 * accounts still linked to them, chunk by chunk, each chunk in one transaction; then the accounts
 * queued as no longer eligible. Records that came back in the meantime are skipped by the store's
 * active-only guard.
 */
export async function applyRunRemovals(
  store: Store,
  runId: string,
  district: string,
  counts: RunCounts,
): Promise<void> {
  await applyRunRekeys(store, runId, district, counts);
  const order: Entity[] = ['sections', 'contacts', 'students', 'staff', 'terms', 'courses', 'schools'];
  for (const entity of order) {
    for (const source of await store.runs.pendingArchiveSources(runId, entity)) {
      const scope: RecordScope = { district, source };
      await archivePending(store, runId, entity, scope, counts);
    }
  }
  await store.transaction(async (tx) => {
    counts.accounts.deactivated += await applyPendingDeactivations(tx, runId, district);
    await tx.pendingDeactivations.clear(runId);
    await tx.runs.progressCounts(runId, counts);
  });
}

async function archivePending(
  store: Store,
  runId: string,
  entity: Entity,
  scope: RecordScope,
  counts: RunCounts,
): Promise<void> {
  let after: string | null = null;
  for (;;) {
    const ids = await store.runs.pendingArchives(runId, entity, scope.source, after, ARCHIVE_CHUNK);
    if (ids.length === 0) break;
    await store.transaction(async (tx) => {
      const n = await tx.records.archive(scope, entity, ids, runId);
      counts.entities[entity].archived += n;
      counts.accounts.deactivated += await deactivateForArchived(tx, {
        runId,
        district: scope.district,
        source: scope.source,
        entity,
        ids,
      });
      await tx.runs.progressCounts(runId, counts);
    });
    after = ids[ids.length - 1]!;
  }
}
