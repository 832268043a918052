import type { Kysely } from 'kysely';
import type { DialectQueries } from '../dialect/dialect.js';
import { chunk } from '../sql-helpers.js';
import type { DB, DbAccountOverride } from '../schema.js';

/** A field override of the accounts matching one key (`keyType` = `keyValue`) of a district. */
export interface OverrideRow {
  district: string;
  keyType: string;
  keyValue: string;
  fields: Record<string, unknown>;
  origin: 'manual' | 'csv';
  updatedAt: string;
}

function toOverride(r: DbAccountOverride): OverrideRow {
  return {
    district: r.district_id,
    keyType: r.key_type,
    keyValue: r.key_value,
    fields: JSON.parse(r.fields) as Record<string, unknown>,
    origin: r.origin as OverrideRow['origin'],
    updatedAt: r.updated_at,
  };
}

/** Account overrides, set by hand or by a staff_overrides.csv, applied by provisioning. */
export class OverridesRepo {
  constructor(
    private readonly db: Kysely<DB>,
    private readonly q: DialectQueries,
    private readonly now: () => string,
  ) {}

  /** The overrides of the given keys. */
  async find(
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
      for (const part of chunk([...new Set(values)], this.q.maxBindParameters - 4)) {
        const rows = await this.db
          .selectFrom('account_overrides')
          .selectAll()
          .where('district_id', '=', district)
          .where('key_type', '=', type)
          .where('key_value', 'in', part)
          .execute();
        for (const r of rows) out.push(toOverride(r));
      }
    }
    return out;
  }

  /** Changes whenever an override of the district is set, changed or removed. */
  async stamp(district: string): Promise<string> {
    const row = await this.db
      .selectFrom('account_overrides')
      .select((eb) => [eb.fn.countAll<number>().as('n'), eb.fn.max('updated_at').as('last')])
      .where('district_id', '=', district)
      .executeTakeFirst();
    return `${Number(row?.n ?? 0)}:${String(row?.last ?? '')}`;
  }

  async hasAny(district: string): Promise<boolean> {
    const row = await this.db
      .selectFrom('account_overrides')
      .select('key_value')
      .where('district_id', '=', district)
      .limit(1)
      .executeTakeFirst();
    return row !== undefined;
  }

  async set(row: Omit<OverrideRow, 'updatedAt'>): Promise<void> {
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

  async remove(district: string, keyType: string, keyValue: string): Promise<boolean> {
    const res = await this.db
      .deleteFrom('account_overrides')
      .where('district_id', '=', district)
      .where('key_type', '=', keyType)
      .where('key_value', '=', keyValue)
      .executeTakeFirst();
    return Number(res.numDeletedRows) > 0;
  }

  /** Replaces every CSV-origin override of the district (a new staff_overrides.csv is the whole truth). */
  async replaceCsv(
    district: string,
    rows: ReadonlyArray<Omit<OverrideRow, 'updatedAt' | 'origin' | 'district'>>,
  ): Promise<void> {
    await this.db
      .deleteFrom('account_overrides')
      .where('district_id', '=', district)
      .where('origin', '=', 'csv')
      .execute();
    for (const r of rows) await this.set({ ...r, district, origin: 'csv' });
  }

  async list(district: string): Promise<OverrideRow[]> {
    const rows = await this.db
      .selectFrom('account_overrides')
      .selectAll()
      .where('district_id', '=', district)
      .orderBy('key_type')
      .orderBy('key_value')
      .execute();
    return rows.map(toOverride);
  }
}
