import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import type { DB } from '../schema.js';

/** Row type of migration 0010's `account_sign_ins` (kept here: only this repository reads it). */
type DbAccountSignIn = {
  account_id: string;
  district_id: string;
  last_sign_in_at: string | null;
  sign_ins: number;
  last_refused_at: string | null;
  last_refused_reason: string | null;
  refusals: number;
};

// A type alias, not an interface: Kysely's withTables wants an indexable record.
type SignInTables = { account_sign_ins: DbAccountSignIn };

export interface AccountSignIns {
  accountId: string;
  district: string;
  /** ISO-8601; null while the account has never signed in. */
  lastSignInAt: string | null;
  signIns: number;
  lastRefusedAt: string | null;
  /** The reason code of the last refused login onto this account. */
  lastRefusedReason: string | null;
  refusals: number;
}

/** Sign-ins and refused logins per account (Clever single sign-on). */
export class SignInsRepo {
  private readonly db: Kysely<DB & SignInTables>;

  constructor(
    db: Kysely<DB>,
    private readonly now: () => string,
  ) {
    this.db = db.withTables<SignInTables>();
  }

  /** Records a sign-in onto the account now. */
  async recordSignIn(accountId: string, district: string): Promise<void> {
    const now = this.now();
    await this.db
      .insertInto('account_sign_ins')
      .values({
        account_id: accountId,
        district_id: district,
        last_sign_in_at: now,
        sign_ins: 1,
        last_refused_at: null,
        last_refused_reason: null,
        refusals: 0,
      })
      .onConflict((oc) =>
        oc.column('account_id').doUpdateSet({
          last_sign_in_at: now,
          sign_ins: sql<number>`account_sign_ins.sign_ins + 1`,
        }),
      )
      .execute();
  }

  /** Records a refused login onto the account (e.g. it is deactivated), with its reason code. */
  async recordRefusal(accountId: string, district: string, reason: string): Promise<void> {
    const now = this.now();
    await this.db
      .insertInto('account_sign_ins')
      .values({
        account_id: accountId,
        district_id: district,
        last_sign_in_at: null,
        sign_ins: 0,
        last_refused_at: now,
        last_refused_reason: reason,
        refusals: 1,
      })
      .onConflict((oc) =>
        oc.column('account_id').doUpdateSet({
          last_refused_at: now,
          last_refused_reason: reason,
          refusals: sql<number>`account_sign_ins.refusals + 1`,
        }),
      )
      .execute();
  }

  /** The account's sign-in record; undefined when no login ever reached it. */
  async get(accountId: string): Promise<AccountSignIns | undefined> {
    const r = await this.db
      .selectFrom('account_sign_ins')
      .selectAll()
      .where('account_id', '=', accountId)
      .executeTakeFirst();
    if (!r) return undefined;
    return {
      accountId: r.account_id,
      district: r.district_id,
      lastSignInAt: r.last_sign_in_at,
      signIns: Number(r.sign_ins),
      lastRefusedAt: r.last_refused_at,
      lastRefusedReason: r.last_refused_reason,
      refusals: Number(r.refusals),
    };
  }
}
