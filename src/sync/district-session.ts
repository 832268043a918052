import { defaultDistrictConfig } from '../model/district-config.js';
import type { DistrictConfig } from '../model/district-config.js';
import type { SourceKind } from '../model/entities.js';
import { RostersyncError } from '../shared/errors.js';
import type { SourceDistrict } from '../sources/source.js';
import type { Store } from '../store/store.js';

/**
 * A district's session: attaching a source to the district and taking over runs a process left
 * behind (the lock every writer takes is store/district-lock.ts).
 */

/** Our id for the source's district: the one asked for, else the source's own (the Clever district id). */
export function districtIdOf(d: SourceDistrict, requested: string | undefined): string {
  const id = requested ?? d.sourceDistrictId;
  if (!id) throw new RostersyncError('config', 'the source has no district id; pass --district');
  return id;
}

/**
 * Attaches the source's district to our district `id`. A Clever district attaches to one of ours
 * only, and ours to one Clever district: a token of another is refused. With `write` a district not
 * stored yet is created and linked to its Clever id; a plan writes nothing. Returns the district's
 * configuration (the defaults for a district not stored).
 */
export async function attachDistrict(
  store: Store,
  source: SourceKind,
  d: SourceDistrict,
  id: string,
  opts: { write: boolean },
): Promise<DistrictConfig> {
  if (d.sourceDistrictId && source === 'clever') {
    const other = await store.districts.getByCleverId(d.sourceDistrictId);
    if (other && other.id !== id) {
      throw new RostersyncError(
        'conflict',
        `Clever district ${d.sourceDistrictId} is already attached to district "${other.id}"`,
      );
    }
  }
  let row = await store.districts.get(id);
  if (!row && opts.write) row = await store.districts.ensure(id, d.data.name);
  if (row && d.sourceDistrictId && source === 'clever') {
    if (row.cleverDistrictId && row.cleverDistrictId !== d.sourceDistrictId) {
      throw new RostersyncError(
        'conflict',
        `district "${id}" is attached to Clever district ${row.cleverDistrictId}, but the token belongs to ${d.sourceDistrictId}`,
      );
    }
    if (!row.cleverDistrictId && opts.write) await store.districts.linkClever(id, d.sourceDistrictId);
  }
  return row?.config ?? defaultDistrictConfig();
}

/**
 * Ends the district's runs a stopped process left `running` (the caller holds the district lock, so
 * none of them is alive) and drops what they had queued for removal. What a stopped or failed events
 * sync queued (its cursor moved past the deletes those removals came from, so they would not be read
 * again), with the re-keys it found among them, is handed to the new run when that is an events
 * sync too (`carryEvents`), and dropped otherwise: a full sync finds the same records absent.
 */
export async function takeOverInterrupted(
  store: Store,
  district: string,
  runId: string,
  opts: { carryEvents?: boolean } = {},
): Promise<void> {
  const interrupted = await store.runs.failInterrupted(
    district,
    runId,
    'interrupted: the process stopped before the run finished',
  );
  const leftovers = new Set(interrupted);
  for (const r of await store.runs.list({ district, limit: 20, mode: 'sync' }))
    if (r.status === 'failed' && r.kind?.kind === 'events') leftovers.add(r.id);
  for (const r of leftovers) {
    if (opts.carryEvents && (await store.runs.get(r))?.kind?.kind === 'events') {
      await store.runs.movePendingArchives(r, runId);
      await store.pendingDeactivations.move(r, runId);
      await store.pendingRekeys.move(r, runId);
      continue;
    }
    await store.runs.clearPendingArchives(r);
    await store.pendingDeactivations.clear(r);
    await store.pendingRekeys.clear(r);
  }
}
