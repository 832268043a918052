import type { SyncRun } from '../model/run.js';
import { RostersyncError } from '../shared/errors.js';
import type { Store } from '../store/store.js';
import { withDistrictLock } from '../store/district-lock.js';
import type { DistrictLock } from '../store/district-lock.js';
import { applyRunRemovals } from './finalise-run.js';

/**
 * Resolving a held run. Approval applies the run's archives and deactivations against the current
 * state (records that came back or accounts already deactivated are skipped); rejection drops
 * them and leaves everything active. Only the district's latest run of that source can be resolved:
 * a newer run has looked at the district again and holds (or applied) its own view.
 */

async function heldRun(store: Store, runId: string): Promise<SyncRun> {
  const run = await store.runs.get(runId);
  if (!run) throw new RostersyncError('not_found', `run ${runId} does not exist`);
  if (run.status !== 'held') throw new RostersyncError('conflict', `run ${runId} is ${run.status}, not held`);
  const newer = (await store.runs.list({ district: run.district, limit: 50 })).find(
    (r) => r.source === run.source && r.mode !== 'plan' && r.id !== run.id && r.startedAt >= run.startedAt,
  );
  if (newer) {
    throw new RostersyncError(
      'conflict',
      `run ${runId} was superseded by run ${newer.id} (${newer.status}); resolve that one instead`,
    );
  }
  return run;
}

/** The district's lock, for resolving a run. */
function resolving(district: string, runId: string): DistrictLock {
  return {
    id: `resolve-${runId}`,
    staleMs: 600_000,
    busy: (holder) =>
      `district "${district}" is being synced by run ${holder?.runId ?? '?'}; try again when it finishes`,
  };
}

export async function approveRun(store: Store, runId: string): Promise<SyncRun> {
  const run = await heldRun(store, runId);
  return withDistrictLock(store, run.district, resolving(run.district, runId), async () => {
    const counts = run.counts;
    await applyRunRemovals(store, runId, run.district, counts);
    await store.runs.resolve(runId, 'succeeded', 'approved', counts);
    await store.runs.clearPendingArchives(runId);
    return (await store.runs.get(runId))!;
  });
}

export async function rejectRun(store: Store, runId: string): Promise<SyncRun> {
  const run = await heldRun(store, runId);
  return withDistrictLock(store, run.district, resolving(run.district, runId), async () => {
    await store.transaction(async (tx) => {
      await tx.runs.resolve(runId, 'rejected', 'rejected', run.counts);
      await tx.runs.clearPendingArchives(runId);
      await tx.pendingDeactivations.clear(runId);
      // The re-keys stay recorded (never applied): until a later run decides them again, the old and
      // the new record are one person, and `status` must not count them twice.
    });
    return (await store.runs.get(runId))!;
  });
}
