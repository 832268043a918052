import type { Entity } from '../model/entities.js';
import { RostersyncError } from '../shared/errors.js';
import type { StoredOnlyRecord } from '../sources/stored-only.js';
import type { RecordScope } from '../store/queries/records.js';
import type { Store } from '../store/store.js';

/**
 * A record the source did not decode whose stored row changed since the source read it: only a
 * source sending one id twice, on different pages, can cause it.
 */
export function changedWhileRead(entity: Entity, id: string): RostersyncError {
  return new RostersyncError(
    'bad_response',
    `${entity} ${id} changed in the store while this run read it (sent twice?); run the sync again`,
  );
}

/**
 * Gives records the source did not decode (see sources/stored-only.ts) their stored data. The
 * source found them unchanged under the stored hash they carry; a row whose hash has changed since
 * fails the run rather than lend a record data it was not sent with.
 */
export async function loadStored(
  store: Store,
  scope: RecordScope,
  records: readonly StoredOnlyRecord[],
): Promise<void> {
  if (records.length === 0) return;
  const entity = records[0]!.entity;
  const stored = await store.records.storedData(
    scope,
    entity,
    records.map((r) => r.sourceId),
  );
  for (const r of records) {
    const row = stored.get(r.sourceId);
    if (!row || row.hash !== r.hash) throw changedWhileRead(entity, r.sourceId);
    r.load(row.data);
  }
}
