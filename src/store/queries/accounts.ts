import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import { accountStateHash, sortIdentities } from '../../model/account.js';
import type {
  Access,
  Account,
  AccountChange,
  AccountChangeKind,
  AccountKind,
  IdentityType,
} from '../../model/account.js';
import type { PersonName, SourceKind, StaffRole } from '../../model/entities.js';
import type { AccountHead, AccountWrite, ChangeWrite, StoredAccount } from '../../model/stored-account.js';
import type { Capabilities } from '../db.js';
import { anyOf } from '../sql-helpers.js';
import type { BulkWriter } from '../bulk-writer.js';
import type { DB, DbAccount } from '../schema.js';

export interface OverrideRow {
  district: string;
  keyType: string;
  keyValue: string;
  fields: Record<string, unknown>;
  origin: 'manual' | 'csv';
  updatedAt: string;
}

const ACCOUNT_COLUMNS = [
  'id',
  'district_id',
  'kind',
  'status',
  'origin',
  'record_source',
  'record_source_id',
  'name',
  'email',
  'title',
  'roles',
  'access',
  'created_at',
  'updated_at',
  'deactivated_at',
  'state_hash',
  'record_hash',
  'derive_version',
  'synced_hash',
  'identities',
];

/**
 * The stored form of an account's login identities (accounts.identities): a JSON array of
 * `type:value` tokens sorted by type, so one identity is one GIN index entry on PostgreSQL. A type
 * never contains `:`, so the first one ends it.
 */
export function identityTokens(identities: ReadonlyArray<{ type: IdentityType; value: string }>): string {
  // The order of sortIdentities: a type never contains `:` (which sorts below every character of
  // one), so comparing tokens compares types first.
  return JSON.stringify(sortIdentities(identities).map((i) => `${i.type}:${i.value}`));
}

export function parseIdentityTokens(json: string): Array<{ type: IdentityType; value: string }> {
  return (JSON.parse(json) as string[]).map((t) => {
    const at = t.indexOf(':');
    return { type: t.slice(0, at) as IdentityType, value: t.slice(at + 1) };
  });
}

function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Accounts, their identities, overrides, held deactivations and the change feed. */
export class AccountsRepo {
  constructor(
    private readonly db: Kysely<DB>,
    private readonly caps: Capabilities,
    private readonly now: () => string,
    private readonly bulk: BulkWriter,
  ) {}

  private static full(r: DbAccount): StoredAccount {
    return {
      id: r.id,
      district: r.district_id,
      kind: r.kind as AccountKind,
      status: r.status as Account['status'],
      origin: r.origin as Account['origin'],
      recordSource: r.record_source as SourceKind | null,
      recordSourceId: r.record_source_id,
      name: JSON.parse(r.name) as PersonName,
      email: r.email,
      title: r.title,
      roles: r.roles === '' ? [] : (r.roles.split(',') as StaffRole[]),
      access: r.access ? (JSON.parse(r.access) as Access) : null,
      identities: parseIdentityTokens(r.identities),
      createdAt: r.created_at,
      updatedAt: r.updated_at,
      deactivatedAt: r.deactivated_at,
      stateHash: r.state_hash,
      recordHash: r.record_hash,
      deriveVersion: r.derive_version,
      syncedHash: r.synced_hash,
    };
  }

  private static readonly HEAD_COLUMNS = [
    'id',
    'district_id',
    'kind',
    'status',
    'origin',
    'record_source',
    'record_source_id',
    'email',
    'access',
    'state_hash',
    'record_hash',
    'derive_version',
    'synced_hash',
  ] as const;

  private static head(r: Pick<DbAccount, (typeof AccountsRepo.HEAD_COLUMNS)[number]>): AccountHead {
    return {
      id: r.id,
      district: r.district_id,
      kind: r.kind as AccountKind,
      status: r.status as AccountHead['status'],
      origin: r.origin as AccountHead['origin'],
      recordSource: r.record_source as SourceKind | null,
      recordSourceId: r.record_source_id,
      email: r.email,
      access: r.access ? (JSON.parse(r.access) as Access) : null,
      stateHash: r.state_hash,
      recordHash: r.record_hash,
      deriveVersion: r.derive_version,
      syncedHash: r.synced_hash,
    };
  }

  /** Full accounts (with identities) by id. */
  async getMany(ids: readonly string[]): Promise<Map<string, StoredAccount>> {
    const out = new Map<string, StoredAccount>();
    for (const part of chunk([...new Set(ids)], this.caps.maxBindParameters - 2)) {
      if (part.length === 0) continue;
      const rows = await this.db.selectFrom('accounts').selectAll().where('id', 'in', part).execute();
      for (const r of rows) out.set(r.id, AccountsRepo.full(r));
    }
    return out;
  }

  async get(id: string): Promise<StoredAccount | undefined> {
    const row = await this.db.selectFrom('accounts').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? AccountsRepo.full(row) : undefined;
  }

  /** The accounts linked to any of the given records of one source (a query to select from). */
  private linkedTo(district: string, source: SourceKind, recordIds: readonly string[]) {
    return this.db
      .selectFrom('accounts')
      .where('district_id', '=', district)
      .where('record_source', '=', source)
      .where((eb) => anyOf(eb, this.caps, 'record_source_id', recordIds));
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
    for (const part of chunk([...hashes.keys()], this.caps.maxBindParameters - 8)) {
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
    for (const part of chunk(recordIds, this.caps.maxBindParameters - 4)) {
      if (part.length === 0) continue;
      const rows = await this.linkedTo(district, source, part).select(AccountsRepo.HEAD_COLUMNS).execute();
      for (const r of rows) out.set(r.record_source_id!, AccountsRepo.head(r));
    }
    return out;
  }

  /** Accounts holding any of the identity values (of one type), grouped by value. */
  async byIdentity(
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
          const a = AccountsRepo.full(r);
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
      const accounts = new Map(rows.map((r) => [r.id, AccountsRepo.full(r)]));
      for (const r of idRows) {
        const a = accounts.get(r.account_id);
        if (a) add(r.value, a);
      }
    }
    return out;
  }

  /** Active accounts whose (lower-cased) email is one of `emails`, without identities. */
  async activeByEmail(district: string, emails: readonly string[]): Promise<Map<string, AccountHead[]>> {
    const out = new Map<string, AccountHead[]>();
    for (const part of chunk([...new Set(emails)], this.caps.maxBindParameters - 4)) {
      if (part.length === 0) continue;
      const rows = await this.db
        .selectFrom('accounts')
        .select(AccountsRepo.HEAD_COLUMNS)
        .where('district_id', '=', district)
        .where('status', '=', 'active')
        .where((eb) => anyOf(eb, this.caps, 'email', part))
        .execute();
      for (const r of rows) {
        const a = AccountsRepo.head(r);
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
        status: a.status,
        origin: a.origin,
        record_source: a.recordSource,
        record_source_id: a.recordSourceId,
        name: JSON.stringify(a.name),
        email: a.email,
        title: a.title,
        roles: a.roles.join(','),
        access: a.access ? JSON.stringify(a.access) : null,
        created_at: now,
        updated_at: now,
        deactivated_at: a.status === 'active' ? null : now,
        state_hash: accountStateHash(a),
        identities: identityTokens(a.identities),
      })
      .execute();
    await this.setIdentities(a.id, a.district, a.identities);
  }

  /** Overwrites the account's profile, status, link and identities. */
  async update(a: AccountWrite, previousStatus: 'active' | 'inactive'): Promise<void> {
    const now = this.now();
    await this.db
      .updateTable('accounts')
      .set({
        status: a.status,
        record_source: a.recordSource,
        record_source_id: a.recordSourceId,
        name: JSON.stringify(a.name),
        email: a.email,
        title: a.title,
        roles: a.roles.join(','),
        access: a.access ? JSON.stringify(a.access) : null,
        updated_at: now,
        state_hash: accountStateHash(a),
        identities: identityTokens(a.identities),
        ...(a.status !== previousStatus ? { deactivated_at: a.status === 'active' ? null : now } : {}),
      })
      .where('id', '=', a.id)
      .execute();
    await this.setIdentities(a.id, a.district, a.identities);
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
    await this.bulk.insertNew(
      { table: 'accounts', columns: ACCOUNT_COLUMNS },
      items.filter((i) => i.isNew).map(toRow),
    );
    await this.bulk.write(
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

  async setStatus(ids: readonly string[], status: 'active' | 'inactive'): Promise<void> {
    const now = this.now();
    for (const part of chunk(ids, this.caps.maxBindParameters - 4)) {
      if (part.length === 0) continue;
      await this.db
        .updateTable('accounts')
        .set({ status, updated_at: now, deactivated_at: status === 'active' ? null : now })
        .where('id', 'in', part)
        .execute();
    }
  }

  private async setIdentities(
    accountId: string,
    district: string,
    identities: ReadonlyArray<{ type: IdentityType; value: string }>,
  ): Promise<void> {
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

  /** Active sync-provisioned accounts linked to the given records (what archiving them would deactivate). */
  async activeSyncAccountsOf(
    district: string,
    source: SourceKind,
    recordIds: readonly string[],
  ): Promise<Array<{ id: string; kind: AccountKind; email: string | null }>> {
    const out: Array<{ id: string; kind: AccountKind; email: string | null }> = [];
    for (const part of chunk(recordIds, this.caps.maxBindParameters - 4)) {
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

  /** Active sync accounts that a run's pending archives would deactivate, per account kind. */
  async pendingDeactivationCounts(runId: string, district: string): Promise<Record<string, number>> {
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
    return rows.map((r) => AccountsRepo.full(r));
  }

  // -------------------------------------------------------------- held deactivations

  async addPendingDeactivations(
    runId: string,
    items: ReadonlyArray<{ accountId: string; kind: AccountKind; reason: string }>,
  ): Promise<void> {
    for (const part of chunk(items, Math.floor(this.caps.maxBindParameters / 4))) {
      if (part.length === 0) continue;
      await this.db
        .insertInto('run_pending_deactivations')
        .values(part.map((i) => ({ run_id: runId, account_id: i.accountId, kind: i.kind, reason: i.reason })))
        .onConflict((oc) => oc.doNothing())
        .execute();
    }
  }

  async pendingDeactivations(
    runId: string,
  ): Promise<Array<{ accountId: string; kind: AccountKind; reason: string }>> {
    const rows = await this.db
      .selectFrom('run_pending_deactivations')
      .selectAll()
      .where('run_id', '=', runId)
      .orderBy('account_id')
      .execute();
    return rows.map((r) => ({ accountId: r.account_id, kind: r.kind as AccountKind, reason: r.reason }));
  }

  async clearPendingDeactivations(runId: string): Promise<void> {
    await this.db.deleteFrom('run_pending_deactivations').where('run_id', '=', runId).execute();
  }

  // -------------------------------------------------------------- overrides

  async overrides(
    district: string,
    keys: ReadonlyArray<{ keyType: string; keyValue: string }>,
  ): Promise<OverrideRow[]> {
    const out: OverrideRow[] = [];
    const byType = new Map<string, string[]>();
    for (const k of keys) {
      let list = byType.get(k.keyType);
      if (!list) byType.set(k.keyType, (list = []));
      list.push(k.keyValue);
    }
    for (const [type, values] of byType) {
      for (const part of chunk([...new Set(values)], this.caps.maxBindParameters - 4)) {
        const rows = await this.db
          .selectFrom('account_overrides')
          .selectAll()
          .where('district_id', '=', district)
          .where('key_type', '=', type)
          .where('key_value', 'in', part)
          .execute();
        for (const r of rows) {
          out.push({
            district: r.district_id,
            keyType: r.key_type,
            keyValue: r.key_value,
            fields: JSON.parse(r.fields) as Record<string, unknown>,
            origin: r.origin as OverrideRow['origin'],
            updatedAt: r.updated_at,
          });
        }
      }
    }
    return out;
  }

  /** Changes whenever an override of the district is set, changed or removed. */
  async overridesStamp(district: string): Promise<string> {
    const row = await this.db
      .selectFrom('account_overrides')
      .select((eb) => [eb.fn.countAll<number>().as('n'), eb.fn.max('updated_at').as('last')])
      .where('district_id', '=', district)
      .executeTakeFirst();
    return `${Number(row?.n ?? 0)}:${String(row?.last ?? '')}`;
  }

  async hasOverrides(district: string): Promise<boolean> {
    const row = await this.db
      .selectFrom('account_overrides')
      .select('key_value')
      .where('district_id', '=', district)
      .limit(1)
      .executeTakeFirst();
    return row !== undefined;
  }

  async setOverride(row: Omit<OverrideRow, 'updatedAt'>): Promise<void> {
    const values = {
      district_id: row.district,
      key_type: row.keyType,
      key_value: row.keyValue,
      fields: JSON.stringify(row.fields),
      origin: row.origin,
      updated_at: this.now(),
    };
    await this.db
      .insertInto('account_overrides')
      .values(values)
      .onConflict((oc) =>
        oc
          .columns(['district_id', 'key_type', 'key_value'])
          .doUpdateSet({ fields: values.fields, origin: values.origin, updated_at: values.updated_at }),
      )
      .execute();
  }

  async removeOverride(district: string, keyType: string, keyValue: string): Promise<boolean> {
    const res = await this.db
      .deleteFrom('account_overrides')
      .where('district_id', '=', district)
      .where('key_type', '=', keyType)
      .where('key_value', '=', keyValue)
      .executeTakeFirst();
    return Number(res.numDeletedRows) > 0;
  }

  /** Replaces every CSV-origin override of the district (a new staff_overrides.csv is the whole truth). */
  async replaceCsvOverrides(
    district: string,
    rows: ReadonlyArray<Omit<OverrideRow, 'updatedAt' | 'origin' | 'district'>>,
  ): Promise<void> {
    await this.db
      .deleteFrom('account_overrides')
      .where('district_id', '=', district)
      .where('origin', '=', 'csv')
      .execute();
    for (const r of rows) await this.setOverride({ ...r, district, origin: 'csv' });
  }

  async listOverrides(district: string): Promise<OverrideRow[]> {
    const rows = await this.db
      .selectFrom('account_overrides')
      .selectAll()
      .where('district_id', '=', district)
      .orderBy('key_type')
      .orderBy('key_value')
      .execute();
    return rows.map((r) => ({
      district: r.district_id,
      keyType: r.key_type,
      keyValue: r.key_value,
      fields: JSON.parse(r.fields) as Record<string, unknown>,
      origin: r.origin as OverrideRow['origin'],
      updatedAt: r.updated_at,
    }));
  }

  // -------------------------------------------------------------- change feed

  /** Appends changes to the ordered feed (same transaction as the change itself). */
  async appendChanges(changes: readonly ChangeWrite[]): Promise<void> {
    const at = this.now();
    await this.bulk.insertNew(
      { table: 'account_changes', columns: ['district_id', 'account_id', 'kind', 'fields', 'run_id', 'at'] },
      changes.map((c) => [c.district, c.accountId, c.kind, JSON.stringify(c.fields), c.runId, at]),
    );
  }

  async changesAfter(
    after: number,
    opts: { limit?: number; district?: string } = {},
  ): Promise<AccountChange[]> {
    let q = this.db.selectFrom('account_changes').selectAll().where('seq', '>', after);
    if (opts.district) q = q.where('district_id', '=', opts.district);
    const rows = await q
      .orderBy('seq')
      .limit(opts.limit ?? 1000)
      .execute();
    return rows.map((r) => ({
      seq: Number(r.seq),
      district: r.district_id,
      accountId: r.account_id,
      kind: r.kind as AccountChangeKind,
      fields: JSON.parse(r.fields) as string[],
      runId: r.run_id,
      at: r.at,
    }));
  }

  async lastChangeSeq(): Promise<number> {
    const row = await this.db
      .selectFrom('account_changes')
      .select((eb) => eb.fn.max('seq').as('m'))
      .executeTakeFirst();
    return Number(row?.m ?? 0);
  }
}
