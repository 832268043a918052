import type { IdentityType } from '../../model/account.js';
import type { AccountWrite, StoredAccount } from '../../model/stored-account.js';
import type { DialectQueries } from '../dialect/dialect.js';
import { chunk } from '../sql-helpers.js';

type Identity = { type: IdentityType; value: string };

/**
 * Login identities of accounts: finding accounts by one, and keeping the identity index in step
 * with the accounts' `identities` column (how it is indexed is the dialect's: see
 * DialectQueries.accountsByIdentity).
 */
export class IdentitiesRepo {
  constructor(private readonly q: DialectQueries) {}

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

  /** Readies the identity index for many lookups (see DialectQueries.tidyIdentityIndex). */
  async tidy(): Promise<void> {
    await this.q.tidyIdentityIndex();
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
