import type { Kysely } from 'kysely';
import { accountStateHash } from '../../model/account.js';
import type { AccountKind, IdentityType } from '../../model/account.js';
import type { SourceKind } from '../../model/entities.js';
import type { AccountHead, AccountWrite, StoredAccount } from '../../model/stored-account.js';
import type { DialectQueries } from '../dialect/dialect.js';
import { chunk } from '../sql-helpers.js';
import type { DB } from '../schema.js';
import {
  ACCOUNT_COLUMNS,
  HEAD_COLUMNS,
  identityTokens,
  toAccountHead,
  toStoredAccount,
} from './account-row.js';
import type { IdentitiesRepo } from './identities.js';

/** The columns a single insert and an update both set from an account write (no timestamps). */
function writtenColumns(a: AccountWrite) {
  return {
    status: a.status,
    record_source: a.recordSource,
    record_source_id: a.recordSourceId,
    name: JSON.stringify(a.name),
    email: a.email,
    title: a.title,
    roles: a.roles.join(','),
    access: a.access ? JSON.stringify(a.access) : null,
    state_hash: accountStateHash(a),
    identities: identityTokens(a.identities),
  };
}

/**
 * Accounts: read by id, by the records they were provisioned from and by email; written one at a
 * time or in bulk. Their login identities are kept in step through the identities repository.
 */
export class AccountsRepo {
  constructor(
    private readonly db: Kysely<DB>,
    private readonly q: DialectQueries,
    private readonly now: () => string,
    private readonly identities: IdentitiesRepo,
  ) {}

  /** Full accounts (with identities) by id. */
  async getMany(ids: readonly string[]): Promise<Map<string, StoredAccount>> {
    const out = new Map<string, StoredAccount>();
    for (const part of chunk([...new Set(ids)], this.q.maxBindParameters - 2)) {
      if (part.length === 0) continue;
      const rows = await this.db.selectFrom('accounts').selectAll().where('id', 'in', part).execute();
      for (const r of rows) out.set(r.id, toStoredAccount(r));
    }
    return out;
  }

  /**
   * The accounts a sign-in by `value` (e.g. a Clever user id) lands on: those holding it as a login
   * identity, or, when none does, those that held it before a re-key (see accounts/rekey.ts), so an
   * old link still finds the person. Any status: whether a deactivated account may sign in is the
   * caller's decision.
   */
  async bySignInIdentity(district: string, type: IdentityType, value: string): Promise<StoredAccount[]> {
    const current = (await this.identities.lookup(district, type, [value])).get(value) ?? [];
    if (current.length > 0) return current;
    const former = await this.identities.formerHolders(district, type, value);
    return [...(await this.getMany(former)).values()];
  }

  async get(id: string): Promise<StoredAccount | undefined> {
    const row = await this.db.selectFrom('accounts').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toStoredAccount(row) : undefined;
  }

  /** The accounts linked to any of the given records of one source (a query to select from). */
  private linkedTo(district: string, source: SourceKind, recordIds: readonly string[]) {
    return this.db
      .selectFrom('accounts')
      .where('district_id', '=', district)
      .where('record_source', '=', source)
      .where((eb) => this.q.anyOf(eb, 'record_source_id', recordIds));
  }

  /**
   * The records (of those given, by id and content hash) whose account is quiet: active, derived
   * from this very content under rules of `deriveVersion`, and not edited since the sync that
   * derived it (its synced state is its state). Provisioning skips these without reading their
   * accounts: on a re-sync that is nearly every record, and a quiet account comes back as two short
   * columns where {@link byRecords} reads thirteen.
   */
  async quietRecords(
    district: string,
    source: SourceKind,
    records: ReadonlyArray<{ sourceId: string; hash: string }>,
    deriveVersion: string,
  ): Promise<Set<string>> {
    const out = new Set<string>();
    const hashes = new Map(records.map((r) => [r.sourceId, r.hash]));
    for (const part of chunk([...hashes.keys()], this.q.maxBindParameters - 8)) {
      if (part.length === 0) continue;
      const rows = await this.linkedTo(district, source, part)
        .select(['record_source_id', 'record_hash'])
        .where('status', '=', 'active')
        .where('derive_version', '=', deriveVersion)
        .whereRef('synced_hash', '=', 'state_hash')
        .execute();
      for (const r of rows) {
        if (r.record_hash === hashes.get(r.record_source_id!)) out.add(r.record_source_id!);
      }
    }
    return out;
  }

  /** Accounts provisioned from the given records (any status), by record id, without identities. */
  async byRecords(
    district: string,
    source: SourceKind,
    recordIds: readonly string[],
  ): Promise<Map<string, AccountHead>> {
    const out = new Map<string, AccountHead>();
    for (const part of chunk(recordIds, this.q.maxBindParameters - 4)) {
      if (part.length === 0) continue;
      const rows = await this.linkedTo(district, source, part).select(HEAD_COLUMNS).execute();
      for (const r of rows) out.set(r.record_source_id!, toAccountHead(r));
    }
    return out;
  }

  /** Active accounts whose (lower-cased) email is one of `emails`, without identities. */
  async activeByEmail(district: string, emails: readonly string[]): Promise<Map<string, AccountHead[]>> {
    const out = new Map<string, AccountHead[]>();
    for (const part of chunk([...new Set(emails)], this.q.maxBindParameters - 4)) {
      if (part.length === 0) continue;
      const rows = await this.db
        .selectFrom('accounts')
        .select(HEAD_COLUMNS)
        .where('district_id', '=', district)
        .where('status', '=', 'active')
        .where((eb) => this.q.anyOf(eb, 'email', part))
        .execute();
      for (const r of rows) {
        const a = toAccountHead(r);
        let list = out.get(a.email!);
        if (!list) out.set(a.email!, (list = []));
        list.push(a);
      }
    }
    return out;
  }

  async insert(a: AccountWrite): Promise<void> {
    const now = this.now();
    await this.db
      .insertInto('accounts')
      .values({
        id: a.id,
        district_id: a.district,
        kind: a.kind,
        origin: a.origin,
        ...writtenColumns(a),
        created_at: now,
        updated_at: now,
        deactivated_at: a.status === 'active' ? null : now,
      })
      .execute();
    await this.identities.replace(a.id, a.district, a.identities);
  }

  /** Overwrites the account's profile, status, link and identities. */
  async update(a: AccountWrite, previousStatus: 'active' | 'inactive'): Promise<void> {
    const now = this.now();
    await this.db
      .updateTable('accounts')
      .set({
        ...writtenColumns(a),
        updated_at: now,
        ...(a.status !== previousStatus ? { deactivated_at: a.status === 'active' ? null : now } : {}),
      })
      .where('id', '=', a.id)
      .execute();
    await this.identities.replace(a.id, a.district, a.identities);
  }

  /**
   * Inserts new accounts and overwrites changed ones in bulk (multi-row upsert), then replaces their
   * identities. `isNew` says whether the account is being created (its identities need no clearing).
   */
  async writeMany(items: ReadonlyArray<{ write: AccountWrite; isNew: boolean }>): Promise<void> {
    if (items.length === 0) return;
    const now = this.now();
    const toRow = ({ write: a }: { write: AccountWrite }) => {
      const stateHash = accountStateHash(a);
      return [
        a.id,
        a.district,
        a.kind,
        a.status,
        a.origin,
        a.recordSource,
        a.recordSourceId,
        JSON.stringify(a.name),
        a.email,
        a.title,
        a.roles.join(','),
        a.access ? JSON.stringify(a.access) : null,
        now,
        now,
        a.status === 'active' ? null : now,
        stateHash,
        a.derived?.recordHash ?? null,
        a.derived?.version ?? null,
        a.derived ? stateHash : null,
        identityTokens(a.identities),
      ];
    };
    await this.q.bulk.insertNew(
      { table: 'accounts', columns: ACCOUNT_COLUMNS },
      items.filter((i) => i.isNew).map(toRow),
    );
    await this.q.bulk.write(
      {
        table: 'accounts',
        columns: ACCOUNT_COLUMNS,
        conflict: {
          target: ['id'],
          // created_at is kept: only a new row takes it.
          update: ACCOUNT_COLUMNS.filter(
            (c) => !['id', 'district_id', 'kind', 'origin', 'created_at'].includes(c),
          ),
        },
      },
      items.filter((i) => !i.isNew).map(toRow),
    );
    await this.identities.replaceMany(items);
  }

  async setStatus(ids: readonly string[], status: 'active' | 'inactive'): Promise<void> {
    const now = this.now();
    for (const part of chunk(ids, this.q.maxBindParameters - 4)) {
      if (part.length === 0) continue;
      await this.db
        .updateTable('accounts')
        .set({ status, updated_at: now, deactivated_at: status === 'active' ? null : now })
        .where('id', 'in', part)
        .execute();
    }
  }

  /** Active sync-provisioned accounts linked to the given records (what archiving them would deactivate). */
  async activeSyncAccountsOf(
    district: string,
    source: SourceKind,
    recordIds: readonly string[],
  ): Promise<Array<{ id: string; kind: AccountKind; email: string | null }>> {
    const out: Array<{ id: string; kind: AccountKind; email: string | null }> = [];
    for (const part of chunk(recordIds, this.q.maxBindParameters - 4)) {
      if (part.length === 0) continue;
      const rows = await this.db
        .selectFrom('accounts')
        .select(['id', 'kind', 'email'])
        .where('district_id', '=', district)
        .where('record_source', '=', source)
        .where('record_source_id', 'in', part)
        .where('status', '=', 'active')
        .where('origin', '=', 'sync')
        .execute();
      for (const r of rows) out.push({ id: r.id, kind: r.kind as AccountKind, email: r.email });
    }
    return out;
  }

  /** True when the district has any account (any status or origin), of a kind and record source if given. */
  async hasAny(
    district: string,
    only: { kind?: AccountKind; recordSource?: SourceKind } = {},
  ): Promise<boolean> {
    let q = this.db.selectFrom('accounts').select('id').where('district_id', '=', district);
    if (only.kind) q = q.where('kind', '=', only.kind);
    if (only.recordSource) q = q.where('record_source', '=', only.recordSource);
    const row = await q.limit(1).executeTakeFirst();
    return row !== undefined;
  }

  /**
   * Active sync-provisioned accounts of one kind, counted up to `limit` (Infinity: all of them): the
   * count stops reading accounts once it reaches the limit.
   */
  async activeSyncCountUpTo(district: string, kind: AccountKind, limit: number): Promise<number> {
    if (limit <= 0) return 0;
    let q = this.db
      .selectFrom('accounts')
      .select('id')
      .where('district_id', '=', district)
      .where('kind', '=', kind)
      .where('status', '=', 'active')
      .where('origin', '=', 'sync');
    if (Number.isFinite(limit)) q = q.limit(limit);
    const row = await this.db
      .selectFrom(q.as('a'))
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /** Accounts per kind and status; `origin` limits to sync-provisioned or hand-made ones. */
  async countsByKind(
    district: string,
    origin?: 'sync' | 'manual',
  ): Promise<Record<AccountKind, { active: number; inactive: number }>> {
    let q = this.db
      .selectFrom('accounts')
      .select(['kind', 'status', (eb) => eb.fn.countAll<number>().as('n')])
      .where('district_id', '=', district);
    if (origin) q = q.where('origin', '=', origin);
    const rows = await q.groupBy(['kind', 'status']).execute();
    const out: Record<AccountKind, { active: number; inactive: number }> = {
      student: { active: 0, inactive: 0 },
      staff: { active: 0, inactive: 0 },
      guardian: { active: 0, inactive: 0 },
    };
    for (const r of rows) {
      const k = out[r.kind as AccountKind];
      if (k) k[r.status as 'active' | 'inactive'] += Number(r.n);
    }
    return out;
  }

  async list(opts: {
    district: string;
    kind?: AccountKind;
    status?: 'active' | 'inactive';
    after?: string;
    limit?: number;
  }): Promise<StoredAccount[]> {
    let q = this.db.selectFrom('accounts').selectAll().where('district_id', '=', opts.district);
    if (opts.kind) q = q.where('kind', '=', opts.kind);
    if (opts.status) q = q.where('status', '=', opts.status);
    if (opts.after) q = q.where('id', '>', opts.after);
    const rows = await q
      .orderBy('id')
      .limit(opts.limit ?? 1000)
      .execute();
    return rows.map((r) => toStoredAccount(r));
  }
}
