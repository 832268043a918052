import type { Kysely } from 'kysely';
import type { IdentityType } from '../../model/account.js';
import type { AccountWrite, StoredAccount } from '../../model/stored-account.js';
import type { DialectQueries } from '../dialect/dialect.js';
import { chunk } from '../sql-helpers.js';
import type { DB } from '../schema.js';

type Identity = { type: IdentityType; value: string };

/**
 * Login identities of accounts: finding accounts by one, and keeping the identity index in step
 * with the accounts' `identities` column (how it is indexed is the dialect's: see
 * DialectQueries.accountsByIdentity). Also the former identities an account kept through a re-key
 * (see accounts/rekey.ts): not part of the account's state, never matched by provisioning, only
 * found by sign-in (AccountsRepo.bySignInIdentity).
 */
export class IdentitiesRepo {
  constructor(
    private readonly q: DialectQueries,
    private readonly db: Kysely<DB>,
    private readonly now: () => string,
  ) {}

  /** Keeps values accounts held before a re-key as their former identities (a value kept twice is kept once). */
  async addFormer(
    district: string,
    items: ReadonlyArray<{ accountId: string; type: IdentityType; value: string }>,
    runId: string | null,
  ): Promise<void> {
    const at = this.now();
    for (const part of chunk(items, Math.floor(this.q.maxBindParameters / 6))) {
      if (part.length === 0) continue;
      await this.db
        .insertInto('account_former_identities')
        .values(
          part.map((i) => ({
            account_id: i.accountId,
            district_id: district,
            type: i.type,
            value: i.value,
            run_id: runId,
            at,
          })),
        )
        .onConflict((oc) => oc.doNothing())
        .execute();
    }
  }

  /** The ids of the accounts that held `value` as `type` before a re-key. */
  async formerHolders(district: string, type: IdentityType, value: string): Promise<string[]> {
    const rows = await this.db
      .selectFrom('account_former_identities')
      .select('account_id')
      .where('district_id', '=', district)
      .where('type', '=', type)
      .where('value', '=', value)
      .orderBy('account_id')
      .execute();
    return rows.map((r) => r.account_id);
  }

  /** An account's former identities, in (type, value) order. */
  async formerOf(accountId: string): Promise<Identity[]> {
    const rows = await this.db
      .selectFrom('account_former_identities')
      .select(['type', 'value'])
      .where('account_id', '=', accountId)
      .orderBy('type')
      .orderBy('value')
      .execute();
    return rows.map((r) => ({ type: r.type as IdentityType, value: r.value }));
  }

  /** Accounts holding any of the identity values (of one type), grouped by value. */
  async lookup(
    district: string,
    type: IdentityType,
    values: readonly string[],
  ): Promise<Map<string, StoredAccount[]>> {
    const out = new Map<string, StoredAccount[]>();
    for (const part of chunk([...new Set(values)], this.q.maxBindParameters - 4)) {
      if (part.length === 0) continue;
      for (const { value, account } of await this.q.accountsByIdentity(district, type, part)) {
        let list = out.get(value);
        if (!list) out.set(value, (list = []));
        list.push(account);
      }
    }
    return out;
  }

  /** Replaces one account's indexed identities. */
  async replace(accountId: string, district: string, identities: readonly Identity[]): Promise<void> {
    await this.q.replaceIdentities(accountId, district, identities);
  }

  /** Replaces the indexed identities of accounts written in bulk (a new account has none to clear). */
  async replaceMany(items: ReadonlyArray<{ write: AccountWrite; isNew: boolean }>): Promise<void> {
    await this.q.replaceIdentitiesOf(items);
  }
}
