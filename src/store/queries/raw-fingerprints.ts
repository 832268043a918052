import type { Entity } from '../../model/entities.js';
import type { DialectQueries } from '../dialect/dialect.js';
import type { RecordScope } from './records.js';

/** An unchanged record's raw item hash and scope, to store with it (see RawFingerprintsRepo.refresh). */
export interface RawRefresh {
  sourceId: string;
  raw: string;
  scope: string | null;
}

/**
 * The raw item hash and filter scope kept with each record (migrations/0005-raw-item-hash.ts), with
 * which a Clever source recognises an unchanged item before decoding it.
 */
export class RawFingerprintsRepo {
  constructor(private readonly q: DialectQueries) {}

  /**
   * Sets the raw item hash and scope (see RecordWrite.fingerprint) of stored rows whose content did not
   * change, and nothing else: rows written before migration 0005, or whose item's bytes changed
   * without changing the record. Their next re-sync then recognises them undecoded.
   */
  async refresh(scope: RecordScope, entity: Entity, rows: readonly RawRefresh[]): Promise<void> {
    if (rows.length === 0) return;
    await this.q.refreshRaw(scope, entity, rows);
  }
}
