import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import type { AccountKind } from '../../model/account.js';
import type { Entity, SourceKind } from '../../model/entities.js';
import type { DialectQueries } from '../dialect/dialect.js';
import { chunk } from '../sql-helpers.js';
import type { DB } from '../schema.js';

/** A re-key a run found: the account of record `oldId` moves to record `newId` (see accounts/rekey.ts). */
export interface PendingRekey {
  entity: Entity;
  source: SourceKind;
  oldId: string;
  newId: string;
  accountId: string;
  accountKind: AccountKind;
}

/**
 * Re-keys a run holds until it passes the safety valve or is approved (then applied), or fails or
 * is rejected (then dropped): the run's own list, like its pending archives.
 */
export class PendingRekeysRepo {
  constructor(
    private readonly db: Kysely<DB>,
    private readonly q: DialectQueries,
  ) {}

  async add(runId: string, items: readonly PendingRekey[]): Promise<void> {
    for (const part of chunk(items, Math.floor(this.q.maxBindParameters / 7))) {
      if (part.length === 0) continue;
      await this.db
        .insertInto('run_pending_rekeys')
        .values(
          part.map((r) => ({
            run_id: runId,
            entity: r.entity,
            source: r.source,
            new_id: r.newId,
            old_id: r.oldId,
            account_id: r.accountId,
            account_kind: r.accountKind,
          })),
        )
        .onConflict((oc) => oc.doNothing())
        .execute();
    }
  }

  /** The run's re-keys, in (entity, new id) order. */
  async list(runId: string): Promise<PendingRekey[]> {
    const rows = await this.db
      .selectFrom('run_pending_rekeys')
      .selectAll()
      .where('run_id', '=', runId)
      .orderBy('entity')
      .orderBy('source')
      .orderBy('new_id')
      .execute();
    return rows.map((r) => ({
      entity: r.entity as Entity,
      source: r.source as SourceKind,
      oldId: r.old_id,
      newId: r.new_id,
      accountId: r.account_id,
      accountKind: r.account_kind as AccountKind,
    }));
  }

  /** Drops re-keys once applied (or when the run is rejected or fails). */
  async remove(
    runId: string,
    items: ReadonlyArray<Pick<PendingRekey, 'entity' | 'source' | 'newId'>>,
  ): Promise<void> {
    for (const r of items) {
      await this.db
        .deleteFrom('run_pending_rekeys')
        .where('run_id', '=', runId)
        .where('entity', '=', r.entity)
        .where('source', '=', r.source)
        .where('new_id', '=', r.newId)
        .execute();
    }
  }

  /** Hands a stopped events sync's re-keys to the run that takes over its removals. */
  async move(from: string, to: string): Promise<void> {
    await this.db
      .insertInto('run_pending_rekeys')
      .columns(['run_id', 'entity', 'source', 'new_id', 'old_id', 'account_id', 'account_kind'])
      .expression((eb) =>
        eb
          .selectFrom('run_pending_rekeys')
          .select((s) => [
            s.val(to).as('run_id'),
            'entity',
            'source',
            'new_id',
            'old_id',
            'account_id',
            'account_kind',
          ])
          .where('run_id', '=', from),
      )
      .onConflict((oc) => oc.doNothing())
      .execute();
    await this.clear(from);
  }

  async clear(runId: string): Promise<void> {
    await this.db.deleteFrom('run_pending_rekeys').where('run_id', '=', runId).execute();
  }

  /** The run's re-keys per account kind (what the safety valve weighs apart from deactivations). */
  async countsByKind(runId: string): Promise<Record<string, number>> {
    const rows = await this.db
      .selectFrom('run_pending_rekeys')
      .select(['account_kind', (eb) => eb.fn.countAll<number>().as('n')])
      .where('run_id', '=', runId)
      .groupBy('account_kind')
      .execute();
    const out: Record<string, number> = {};
    for (const r of rows) out[r.account_kind] = Number(r.n);
    return out;
  }

  /**
   * Per entity, the old records of the district's pending re-keys (of held runs, and of rejected
   * ones until a later run decides again) whose old and new records are both still active: the same
   * people twice, so `status` does not count them twice.
   */
  async unsettledOldRecords(district: string): Promise<Partial<Record<Entity, number>>> {
    const out: Partial<Record<Entity, number>> = {};
    for (const entity of ['students', 'staff', 'contacts'] as const) {
      // One table name for the type checker: the three record tables have the same columns.
      const table = entity as 'students';
      const row = await this.db
        .selectFrom('run_pending_rekeys as p')
        .innerJoin('sync_runs as r', 'r.id', 'p.run_id')
        .innerJoin(`${table} as rec`, (j) =>
          j
            .onRef('rec.source_id', '=', 'p.old_id')
            .onRef('rec.source', '=', 'p.source')
            .on('rec.district_id', '=', district),
        )
        .innerJoin(`${table} as neu`, (j) =>
          j
            .onRef('neu.source_id', '=', 'p.new_id')
            .onRef('neu.source', '=', 'p.source')
            .on('neu.district_id', '=', district),
        )
        .select((eb) => eb.fn.count<number>('p.old_id').distinct().as('n'))
        .where('r.district_id', '=', district)
        .where('p.entity', '=', entity)
        .where('rec.archived_at', 'is', null)
        .where('neu.archived_at', 'is', null)
        .executeTakeFirstOrThrow();
      if (Number(row.n) > 0) out[entity] = Number(row.n);
    }
    return out;
  }

  /** Of {@link unsettledOldRecords}'s staff, how many hold each role (a multi-role person under each). */
  async unsettledOldStaffRoles(district: string): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const role of ['teacher', 'staff', 'district_admin']) {
      const row = await this.db
        .selectFrom('run_pending_rekeys as p')
        .innerJoin('sync_runs as r', 'r.id', 'p.run_id')
        .innerJoin('staff as rec', (j) =>
          j
            .onRef('rec.source_id', '=', 'p.old_id')
            .onRef('rec.source', '=', 'p.source')
            .on('rec.district_id', '=', district),
        )
        .innerJoin('staff as neu', (j) =>
          j
            .onRef('neu.source_id', '=', 'p.new_id')
            .onRef('neu.source', '=', 'p.source')
            .on('neu.district_id', '=', district),
        )
        .select((eb) => eb.fn.count<number>('p.old_id').distinct().as('n'))
        .where('r.district_id', '=', district)
        .where('p.entity', '=', 'staff')
        .where('rec.archived_at', 'is', null)
        .where('neu.archived_at', 'is', null)
        .where(sql<string>`',' || rec.roles || ','`, 'like', `%,${role},%`)
        .executeTakeFirstOrThrow();
      if (Number(row.n) > 0) out[role] = Number(row.n);
    }
    return out;
  }
}
