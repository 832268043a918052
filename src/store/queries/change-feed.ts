import type { Kysely, Selectable } from 'kysely';
import type { AccountChange, AccountChangeKind } from '../../model/account.js';
import type { ChangeWrite } from '../../model/stored-account.js';
import type { DialectQueries } from '../dialect/dialect.js';
import type { DB, DbAccountChange } from '../schema.js';

/** An `account_changes` row as a feed entry. */
function toChange(r: Selectable<DbAccountChange>): AccountChange {
  return {
    seq: Number(r.seq),
    district: r.district_id,
    accountId: r.account_id,
    kind: r.kind as AccountChangeKind,
    fields: JSON.parse(r.fields) as string[],
    runId: r.run_id,
    at: r.at,
  };
}

/**
 * The account change feed: an ordered outbox, appended in the transaction of the change itself,
 * read by sequence number by the API, webhooks and exports.
 */
export class ChangeFeedRepo {
  constructor(
    private readonly db: Kysely<DB>,
    private readonly q: DialectQueries,
    private readonly now: () => string,
  ) {}

  /** Appends changes to the ordered feed (same transaction as the change itself). */
  async append(changes: readonly ChangeWrite[]): Promise<void> {
    const at = this.now();
    await this.q.bulk.insertNew(
      { table: 'account_changes', columns: ['district_id', 'account_id', 'kind', 'fields', 'run_id', 'at'] },
      changes.map((c) => [c.district, c.accountId, c.kind, JSON.stringify(c.fields), c.runId, at]),
    );
  }

  /** Changes after sequence number `after`, in order; `limit` defaults to 1000. */
  async after(after: number, opts: { limit?: number; district?: string } = {}): Promise<AccountChange[]> {
    let q = this.db.selectFrom('account_changes').selectAll().where('seq', '>', after);
    if (opts.district) q = q.where('district_id', '=', opts.district);
    const rows = await q
      .orderBy('seq')
      .limit(opts.limit ?? 1000)
      .execute();
    return rows.map(toChange);
  }

  /**
   * One account's changes, newest first: those before sequence number `before` when given;
   * `limit` defaults to 100.
   */
  async ofAccount(
    accountId: string,
    opts: { before?: number; limit?: number } = {},
  ): Promise<AccountChange[]> {
    let q = this.db.selectFrom('account_changes').selectAll().where('account_id', '=', accountId);
    if (opts.before !== undefined) q = q.where('seq', '<', opts.before);
    const rows = await q
      .orderBy('seq', 'desc')
      .limit(opts.limit ?? 100)
      .execute();
    return rows.map(toChange);
  }

  /** The sequence number of the last change (0 when the feed is empty). */
  async lastSeq(): Promise<number> {
    const row = await this.db
      .selectFrom('account_changes')
      .select((eb) => eb.fn.max('seq').as('m'))
      .executeTakeFirst();
    return Number(row?.m ?? 0);
  }
}
