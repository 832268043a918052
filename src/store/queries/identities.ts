import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import type { IdentityType } from '../../model/account.js';
import type { AccountWrite, StoredAccount } from '../../model/stored-account.js';
import type { Capabilities } from '../db.js';
import { anyOf, chunk } from '../sql-helpers.js';
import type { BulkWriter } from '../dialect/bulk-writer.js';
import type { DB } from '../schema.js';
import { toStoredAccount } from './account-row.js';

type Identity = { type: IdentityType; value: string };

/**
 * Login identities of accounts: finding accounts by one, and keeping the identity index in step
 * with the accounts' `identities` column (see Capabilities.identityIndex).
 */
export class IdentitiesRepo {
  constructor(
    private readonly db: Kysely<DB>,
    private readonly caps: Capabilities,
    private readonly bulk: BulkWriter,
  ) {}

  /** Accounts holding any of the identity values (of one type), grouped by value. */
  async lookup(
    district: string,
    type: IdentityType,
    values: readonly string[],
  ): Promise<Map<string, StoredAccount[]>> {
    const out = new Map<string, StoredAccount[]>();
    const add = (value: string, a: StoredAccount) => {
      let list = out.get(value);
      if (!list) out.set(value, (list = []));
      list.push(a);
    };
    for (const part of chunk([...new Set(values)], this.caps.maxBindParameters - 4)) {
      if (part.length === 0) continue;
      if (this.caps.identityIndex === 'gin') {
        const wanted = new Set(part);
        const rows = await this.db
          .selectFrom('accounts')
          .selectAll()
          .where('district_id', '=', district)
          // The expression and operator of the GIN index accounts_identities_idx (jsonb_path_ops,
          // migration 0006), word for word: one single-token array per value.
          .where(
            sql<boolean>`(identities::jsonb) @> any(${part.map((v) => JSON.stringify([`${type}:${v}`]))}::jsonb[])`,
          )
          .execute();
        for (const r of rows) {
          const a = toStoredAccount(r);
          for (const i of a.identities) if (i.type === type && wanted.has(i.value)) add(i.value, a);
        }
        continue;
      }
      const idRows = await this.db
        .selectFrom('account_identities')
        .select(['account_id', 'value'])
        .where('district_id', '=', district)
        .where('type', '=', type)
        .where((eb) => anyOf(eb, this.caps, 'value', part))
        .execute();
      if (idRows.length === 0) continue;
      const rows = await this.db
        .selectFrom('accounts')
        .selectAll()
        .where(
          'id',
          'in',
          idRows.map((r) => r.account_id),
        )
        .execute();
      const accounts = new Map(rows.map((r) => [r.id, toStoredAccount(r)]));
      for (const r of idRows) {
        const a = accounts.get(r.account_id);
        if (a) add(r.value, a);
      }
    }
    return out;
  }

  /** Replaces one account's indexed identities. */
  async replace(accountId: string, district: string, identities: readonly Identity[]): Promise<void> {
    if (this.caps.identityIndex !== 'table') return;
    await this.db.deleteFrom('account_identities').where('account_id', '=', accountId).execute();
    if (identities.length > 0) {
      await this.db
        .insertInto('account_identities')
        .values(
          identities.map((i) => ({
            account_id: accountId,
            district_id: district,
            type: i.type,
            value: i.value,
          })),
        )
        .execute();
    }
  }

  /** Replaces the indexed identities of accounts written in bulk (a new account has none to clear). */
  async replaceMany(items: ReadonlyArray<{ write: AccountWrite; isNew: boolean }>): Promise<void> {
    if (this.caps.identityIndex !== 'table') return;
    const ids = items.filter((i) => !i.isNew).map((i) => i.write.id);
    for (const part of chunk(ids, this.caps.maxBindParameters - 2)) {
      await this.db.deleteFrom('account_identities').where('account_id', 'in', part).execute();
    }
    await this.bulk.insertNew(
      { table: 'account_identities', columns: ['account_id', 'district_id', 'type', 'value'] },
      items.flatMap(({ write: a }) => a.identities.map((i) => [a.id, a.district, i.type, i.value])),
    );
  }
}
