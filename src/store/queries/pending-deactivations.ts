import type { Kysely } from 'kysely';
import type { AccountKind } from '../../model/account.js';
import type { DialectQueries } from '../dialect/dialect.js';
import { chunk } from '../sql-helpers.js';
import type { DB } from '../schema.js';

export interface PendingDeactivation {
  accountId: string;
  kind: AccountKind;
  reason: string;
}

/**
 * Account deactivations a run holds back for approval (the safety valve), and what approving a
 * run's held changes would deactivate.
 */
export class PendingDeactivationsRepo {
  constructor(
    private readonly db: Kysely<DB>,
    private readonly q: DialectQueries,
  ) {}

  async add(runId: string, items: readonly PendingDeactivation[]): Promise<void> {
    for (const part of chunk(items, Math.floor(this.q.maxBindParameters / 4))) {
      if (part.length === 0) continue;
      await this.db
        .insertInto('run_pending_deactivations')
        .values(part.map((i) => ({ run_id: runId, account_id: i.accountId, kind: i.kind, reason: i.reason })))
        .onConflict((oc) => oc.doNothing())
        .execute();
    }
  }

  async list(runId: string): Promise<PendingDeactivation[]> {
    const rows = await this.db
      .selectFrom('run_pending_deactivations')
      .selectAll()
      .where('run_id', '=', runId)
      .orderBy('account_id')
      .execute();
    return rows.map((r) => ({ accountId: r.account_id, kind: r.kind as AccountKind, reason: r.reason }));
  }

  /** Hands run `from`'s pending deactivations to run `to` (see RunsRepo.movePendingArchives). */
  async move(from: string, to: string): Promise<void> {
    await this.db
      .insertInto('run_pending_deactivations')
      .columns(['run_id', 'account_id', 'kind', 'reason'])
      .expression((eb) =>
        eb
          .selectFrom('run_pending_deactivations')
          .select((s) => [s.val(to).as('run_id'), 'account_id', 'kind', 'reason'])
          .where('run_id', '=', from),
      )
      .onConflict((oc) => oc.doNothing())
      .execute();
    await this.clear(from);
  }

  async clear(runId: string): Promise<void> {
    await this.db.deleteFrom('run_pending_deactivations').where('run_id', '=', runId).execute();
  }

  /**
   * Active sync accounts that approving the run would deactivate, per account kind: those linked to
   * its pending archives (but for those it re-keys) and those it holds directly.
   */
  async countsByKind(runId: string, district: string): Promise<Record<string, number>> {
    const viaArchives = await this.db
      .selectFrom('run_pending_archives as p')
      .innerJoin('accounts as a', (j) =>
        j
          .onRef('a.record_source_id', '=', 'p.source_id')
          .onRef('a.record_source', '=', 'p.source')
          .on('a.district_id', '=', district),
      )
      .select(['a.kind', (eb) => eb.fn.countAll<number>().as('n')])
      .where('p.run_id', '=', runId)
      .where('p.entity', 'in', ['students', 'staff', 'contacts'])
      .where('a.status', '=', 'active')
      .where('a.origin', '=', 'sync')
      // An account the run re-keys follows its person's new record: archiving the old one leaves it be.
      .where((eb) =>
        eb.not(
          eb.exists(
            eb
              .selectFrom('run_pending_rekeys as k')
              .select('k.account_id')
              .where('k.run_id', '=', runId)
              .whereRef('k.account_id', '=', 'a.id'),
          ),
        ),
      )
      .groupBy('a.kind')
      .execute();
    const direct = await this.db
      .selectFrom('run_pending_deactivations as d')
      .innerJoin('accounts as a', 'a.id', 'd.account_id')
      .select(['a.kind', (eb) => eb.fn.countAll<number>().as('n')])
      .where('d.run_id', '=', runId)
      .where('a.status', '=', 'active')
      .groupBy('a.kind')
      .execute();
    const out: Record<string, number> = {};
    for (const r of [...viaArchives, ...direct]) out[r.kind] = (out[r.kind] ?? 0) + Number(r.n);
    return out;
  }

  /**
   * The active sync accounts approving the run would deactivate (the same ones countsByKind
   * counts), in account id order, after `after` (a cursor: the last id of the page before), up to `limit`.
   */
  async accountIds(runId: string, district: string, limit: number, after?: string): Promise<string[]> {
    let viaArchives = this.db
      .selectFrom('run_pending_archives as p')
      .innerJoin('accounts as a', (j) =>
        j
          .onRef('a.record_source_id', '=', 'p.source_id')
          .onRef('a.record_source', '=', 'p.source')
          .on('a.district_id', '=', district),
      )
      .select('a.id')
      .where('p.run_id', '=', runId)
      .where('p.entity', 'in', ['students', 'staff', 'contacts'])
      .where('a.status', '=', 'active')
      .where('a.origin', '=', 'sync');
    let direct = this.db
      .selectFrom('run_pending_deactivations as d')
      .innerJoin('accounts as a', 'a.id', 'd.account_id')
      .select('a.id')
      .where('d.run_id', '=', runId)
      .where('a.status', '=', 'active');
    if (after !== undefined) {
      viaArchives = viaArchives.where('a.id', '>', after);
      direct = direct.where('a.id', '>', after);
    }
    const rows = [
      ...(await viaArchives.orderBy('a.id').limit(limit).execute()),
      ...(await direct.orderBy('a.id').limit(limit).execute()),
    ];
    return [...new Set(rows.map((r) => r.id))].sort().slice(0, limit);
  }
}
