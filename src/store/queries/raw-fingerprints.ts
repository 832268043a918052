import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import type { Entity } from '../../model/entities.js';
import type { Capabilities } from '../db.js';
import { chunk } from '../sql-helpers.js';
import type { DB } from '../schema.js';
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
  constructor(
    private readonly db: Kysely<DB>,
    private readonly caps: Capabilities,
  ) {}

  /**
   * Sets the raw item hash and scope (see RecordWrite.raw) of stored rows whose content did not
   * change, and nothing else: rows written before migration 0005, or whose item's bytes changed
   * without changing the record. Their next re-sync then recognises them undecoded.
   */
  async refresh(scope: RecordScope, entity: Entity, rows: readonly RawRefresh[]): Promise<void> {
    if (rows.length === 0) return;
    if (this.caps.arrayParams) {
      for (const part of chunk(rows, 5000)) {
        const ids = part.map((r) => r.sourceId);
        const raws = part.map((r) => r.raw);
        const scopes = part.map((r) => r.scope);
        await sql`
          update ${sql.table(entity)} as t set raw_hash = v.raw, scope_ids = v.scope
          from unnest(${ids}::text[], ${raws}::text[], ${scopes}::text[]) as v(id, raw, scope)
          where t.district_id = ${scope.district} and t.source = ${scope.source} and t.source_id = v.id`.execute(
          this.db,
        );
      }
      return;
    }
    for (const r of rows) {
      await this.db
        .updateTable(entity)
        .set({ raw_hash: r.raw, scope_ids: r.scope })
        .where('district_id', '=', scope.district)
        .where('source', '=', scope.source)
        .where('source_id', '=', r.sourceId)
        .execute();
    }
  }
}
