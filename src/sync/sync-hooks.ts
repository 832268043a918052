import type { DistrictConfig } from '../model/district-config.js';
import type { Entity, SourceKind } from '../model/entities.js';
import type { Store } from '../store/store.js';
import type { NormalizedRecord } from './reconcile.js';

export interface BatchContext {
  runId: string;
  district: string;
  source: SourceKind;
  entity: Entity;
  config: DistrictConfig;
}

/**
 * Work that must commit together with the records it follows (accounts, the change feed). Each hook
 * runs inside the batch's transaction with a transaction-bound store.
 */
export interface SyncHooks {
  /** After a batch's created/updated/restored records were written; `unchangedIds` were compared and kept. */
  afterRecords?(
    tx: Store,
    batch: BatchContext & { writes: NormalizedRecord[]; unchangedIds: string[] },
  ): Promise<void>;
  /** After records were archived. */
  afterArchive?(tx: Store, batch: BatchContext & { ids: string[] }): Promise<void>;
}
