import { sql } from 'kysely';
import type { Expression, ExpressionBuilder, Kysely, SqlBool } from 'kysely';
import { IDENTITY_TYPES, identityValue } from '../../model/account.js';
import type {
  Account,
  AccountChange,
  AccountKind,
  AccountOrigin,
  AccountStatus,
  IdentityType,
} from '../../model/account.js';
import { SOURCES } from '../../model/entities.js';
import type { PersonName, SourceKind, StaffRole } from '../../model/entities.js';
import type { DialectQueries } from '../dialect/dialect.js';
import type { DB, DbAccount } from '../schema.js';
import { toStoredAccount } from './account-row.js';
import type { ChangeFeedRepo } from './change-feed.js';
import type { OverrideRow, OverridesRepo } from './overrides.js';

/** What an identifier lookup may name: a login identity type, the account's id, or its record's source id. */
export const ACCOUNT_IDENTIFIER_KINDS = [...IDENTITY_TYPES, 'account_id', 'record_id', 'username'] as const;
export type AccountIdentifierKind = (typeof ACCOUNT_IDENTIFIER_KINDS)[number];

/** Page size of a search when none is given, and the largest one served. */
export const ACCOUNT_SEARCH_DEFAULT_LIMIT = 50;
export const ACCOUNT_SEARCH_MAX_LIMIT = 500;

export interface AccountSearchQuery {
  /** One district; every district when omitted. */
  district?: string;
  /**
   * An exact identifier: any login identity (Clever id, email, SIS id, student, state, staff or
   * teacher number), the account id or its record's source id; only `identifierKind` when given.
   * Every kind but `username` is an index lookup. `username` (the roster record's username, which
   * accounts do not keep) reads the student and staff records, so it is only looked for when asked.
   */
  identifier?: string;
  identifierKind?: AccountIdentifierKind;
  /**
   * Free text: accounts whose name has a part starting with each word (case-insensitive), whose
   * email starts with the text, or which hold it exactly as an identifier (any kind but username).
   */
  text?: string;
  kind?: AccountKind;
  status?: AccountStatus;
  /** The `next` cursor of the page before. */
  after?: string;
  /** Default {@link ACCOUNT_SEARCH_DEFAULT_LIMIT}, at most {@link ACCOUNT_SEARCH_MAX_LIMIT}. */
  limit?: number;
}

/** An account as a search lists it: who, what kind, and where it comes from. */
export interface AccountSummary {
  id: string;
  district: string;
  kind: AccountKind;
  status: AccountStatus;
  origin: AccountOrigin;
  name: PersonName;
  email: string | null;
  roles: StaffRole[];
  recordSource: SourceKind | null;
  recordSourceId: string | null;
  updatedAt: string;
  deactivatedAt: string | null;
}

export interface AccountSearchPage {
  items: AccountSummary[];
  /** Pass as `after` for the next page; null on the last page. */
  next: string | null;
}

export interface AccountDetail {
  /** The account with its identities, roles and access. */
  account: Account;
  /** Overrides that apply to it: its own (`account` key) and those of its staff keys. */
  overrides: OverrideRow[];
  /** Its latest changes from the change feed, newest first (see {@link AccountSearchRepo.history}). */
  history: AccountChange[];
  /** Pass as `before` to {@link AccountSearchRepo.history} for older changes; null when there are none. */
  historyBefore: number | null;
}

/** Identity types that key staff overrides (see accounts/provision.ts). */
const OVERRIDE_KEY_TYPES: readonly string[] = ['staff_id', 'sis_id', 'teacher_number'];

/** Words of a free-text name search; more than this is not a name. */
const MAX_NAME_WORDS = 6;

/** `text` for a LIKE pattern with `\` as its escape character. */
function likeEscaped(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

function toSummary(r: DbAccount): AccountSummary {
  return {
    id: r.id,
    district: r.district_id,
    kind: r.kind as AccountKind,
    status: r.status as AccountStatus,
    origin: r.origin as AccountOrigin,
    name: JSON.parse(r.name) as PersonName,
    email: r.email,
    roles: r.roles === '' ? [] : (r.roles.split(',') as StaffRole[]),
    recordSource: r.record_source as SourceKind | null,
    recordSourceId: r.record_source_id,
    updatedAt: r.updated_at,
    deactivatedAt: r.deactivated_at,
  };
}

/**
 * Finding accounts (by identifier or free text, in one district or all, a page at a time in id
 * order) and reading one with everything that shapes it: what the API and the admin pages show.
 */
export class AccountSearchRepo {
  constructor(
    private readonly db: Kysely<DB>,
    private readonly q: DialectQueries,
    private readonly overrides: OverridesRepo,
    private readonly changeFeed: ChangeFeedRepo,
  ) {}

  /**
   * One page of accounts matching every condition given, in id order (so paging is complete and
   * stable while accounts are added). With neither `identifier` nor `text`, every account.
   */
  async search(query: AccountSearchQuery): Promise<AccountSearchPage> {
    const limit = Math.min(
      Math.max(1, query.limit ?? ACCOUNT_SEARCH_DEFAULT_LIMIT),
      ACCOUNT_SEARCH_MAX_LIMIT,
    );
    const district = query.district ?? null;
    // District ids scope the record-id lookup to its index (district, source, source id).
    const districts =
      district !== null
        ? [district]
        : (await this.db.selectFrom('districts').select('id').execute()).map((r) => r.id);
    let q = this.db.selectFrom('accounts').selectAll();
    if (district !== null) q = q.where('district_id', '=', district);
    if (query.kind) q = q.where('kind', '=', query.kind);
    if (query.status) q = q.where('status', '=', query.status);
    if (query.after !== undefined) q = q.where('id', '>', query.after);
    if (query.identifier !== undefined) {
      const { identifier, identifierKind } = query;
      q = q.where((eb) => this.identifierMatch(eb, identifier, identifierKind, district, districts));
    }
    if (query.text !== undefined && query.text.trim() !== '') {
      const text = query.text.trim();
      q = q.where((eb) => this.textMatch(eb, text, district, districts));
    }
    const rows = await q
      .orderBy('id')
      .limit(limit + 1)
      .execute();
    const page = rows.slice(0, limit);
    return {
      items: page.map(toSummary),
      next: rows.length > limit ? page[page.length - 1]!.id : null,
    };
  }

  /** One account with its overrides and latest `historyLimit` changes (default 50); undefined when unknown. */
  async detail(accountId: string, opts: { historyLimit?: number } = {}): Promise<AccountDetail | undefined> {
    const row = await this.db
      .selectFrom('accounts')
      .selectAll()
      .where('id', '=', accountId)
      .executeTakeFirst();
    if (!row) return undefined;
    const stored = toStoredAccount(row);
    const account: Account = {
      id: stored.id,
      district: stored.district,
      kind: stored.kind,
      status: stored.status,
      origin: stored.origin,
      recordSource: stored.recordSource,
      recordSourceId: stored.recordSourceId,
      name: stored.name,
      email: stored.email,
      title: stored.title,
      roles: stored.roles,
      access: stored.access,
      identities: stored.identities,
      createdAt: stored.createdAt,
      updatedAt: stored.updatedAt,
      deactivatedAt: stored.deactivatedAt,
    };
    const keys = [
      { keyType: 'account', keyValue: stored.id },
      ...(stored.kind === 'staff'
        ? stored.identities
            .filter((i) => OVERRIDE_KEY_TYPES.includes(i.type))
            .map((i) => ({ keyType: i.type, keyValue: i.value }))
        : []),
    ];
    const overrides = await this.overrides.find(stored.district, keys);
    const { changes, before } = await this.history(stored.id, { limit: opts.historyLimit ?? 50 });
    return { account, overrides, history: changes, historyBefore: before };
  }

  /**
   * An account's changes from the feed, newest first, older than `before` when given; `limit`
   * defaults to 50. `before` of the result continues with older ones (null when there are none).
   */
  async history(
    accountId: string,
    opts: { before?: number; limit?: number } = {},
  ): Promise<{ changes: AccountChange[]; before: number | null }> {
    const limit = Math.min(Math.max(1, opts.limit ?? 50), ACCOUNT_SEARCH_MAX_LIMIT);
    const rows = await this.changeFeed.ofAccount(accountId, {
      limit: limit + 1,
      ...(opts.before !== undefined ? { before: opts.before } : {}),
    });
    const changes = rows.slice(0, limit);
    return { changes, before: rows.length > limit ? changes[changes.length - 1]!.seq : null };
  }

  private identifierMatch(
    eb: ExpressionBuilder<DB, 'accounts'>,
    value: string,
    kind: AccountIdentifierKind | undefined,
    district: string | null,
    districts: readonly string[],
  ): Expression<SqlBool> {
    if (kind === 'username') return this.usernameMatch(eb, value, district);
    const arms: Array<Expression<SqlBool>> = [];
    const types = kind === undefined ? IDENTITY_TYPES : IDENTITY_TYPES.filter((t) => t === kind);
    // Identities are stored normalised (emails lower-cased): look up the value the same way.
    const byType = new Map<string, IdentityType[]>();
    for (const t of types) {
      const v = identityValue(t, value);
      if (v === null) continue;
      let list = byType.get(v);
      if (!list) byType.set(v, (list = []));
      list.push(t);
    }
    for (const [v, ts] of byType) arms.push(this.q.holdsIdentity(eb, v, ts, district));
    if (kind === undefined || kind === 'account_id') arms.push(eb('id', '=', value));
    if ((kind === undefined || kind === 'record_id') && districts.length > 0) {
      arms.push(
        eb.and([
          this.q.anyOf(eb, 'district_id', districts),
          eb('record_source', 'in', [...SOURCES]),
          eb('record_source_id', '=', value),
        ]),
      );
    }
    return arms.length === 0 ? eb.lit(false) : eb.or(arms);
  }

  private textMatch(
    eb: ExpressionBuilder<DB, 'accounts'>,
    text: string,
    district: string | null,
    districts: readonly string[],
  ): Expression<SqlBool> {
    const words = text.toLowerCase().split(/\s+/).filter(Boolean).slice(0, MAX_NAME_WORDS);
    // `name` is canonical JSON ({"first":"Ann","last":"Lee"}): a word starts a name part where it
    // follows `:"`, which keys never do.
    const nameArm = eb.and(
      words.map(
        (w) =>
          sql<boolean>`lower(name) like ${`%:"${likeEscaped(JSON.stringify(w).slice(1, -1))}%`} escape '\\'`,
      ),
    );
    return eb.or([
      nameArm,
      sql<boolean>`email like ${`${likeEscaped(text.toLowerCase())}%`} escape '\\'`,
      this.identifierMatch(eb, text, undefined, district, districts),
    ]);
  }

  /** Accounts of student and staff records whose username is `value` (reads the records). */
  private usernameMatch(
    eb: ExpressionBuilder<DB, 'accounts'>,
    value: string,
    district: string | null,
  ): Expression<SqlBool> {
    // Record data is canonical JSON: the username is this exact member wherever it sits.
    const pattern = `%${likeEscaped(`"username":${JSON.stringify(value)}`)}%`;
    const records = (table: 'students' | 'staff') => {
      let sub = this.db
        .selectFrom(table)
        .select('source_id')
        .where(sql<boolean>`data like ${pattern} escape '\\'`);
      if (district !== null) sub = sub.where('district_id', '=', district);
      return sub;
    };
    return eb.or([
      eb.and([eb('kind', '=', 'student'), eb('record_source_id', 'in', records('students'))]),
      eb.and([eb('kind', '=', 'staff'), eb('record_source_id', 'in', records('staff'))]),
    ]);
  }
}
