import type { Kysely } from 'kysely';
import { districtConfigSchema } from '../../model/district-config.js';
import type { DistrictConfig } from '../../model/district-config.js';
import type { District } from '../../model/entities.js';
import { RostersyncError } from '../../shared/errors.js';
import type { SecretBox } from '../secrets.js';
import type { DB, DbDistrict } from '../schema.js';

export interface DistrictRow {
  id: string;
  name: string;
  cleverDistrictId: string | null;
  data: District | null;
  hash: string | null;
  config: DistrictConfig;
  hasToken: boolean;
  createdAt: string;
  updatedAt: string;
}

function toDistrict(row: DbDistrict): DistrictRow {
  const parsed = districtConfigSchema.safeParse(JSON.parse(row.config));
  if (!parsed.success) {
    throw new RostersyncError(
      'config',
      `district ${row.id}: stored configuration is invalid: ${parsed.error.message}`,
    );
  }
  return {
    id: row.id,
    name: row.name,
    cleverDistrictId: row.clever_district_id,
    data: row.data ? (JSON.parse(row.data) as District) : null,
    hash: row.hash,
    config: parsed.data,
    hasToken: row.token_ciphertext !== null,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export class DistrictsRepo {
  constructor(
    private readonly db: Kysely<DB>,
    private readonly now: () => string,
  ) {}

  async get(id: string): Promise<DistrictRow | undefined> {
    const row = await this.db.selectFrom('districts').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toDistrict(row) : undefined;
  }

  async getByCleverId(cleverId: string): Promise<DistrictRow | undefined> {
    const row = await this.db
      .selectFrom('districts')
      .selectAll()
      .where('clever_district_id', '=', cleverId)
      .executeTakeFirst();
    return row ? toDistrict(row) : undefined;
  }

  async list(): Promise<DistrictRow[]> {
    const rows = await this.db.selectFrom('districts').selectAll().orderBy('id').execute();
    return rows.map(toDistrict);
  }

  /** Creates the district if it does not exist (with a default configuration); returns it. */
  async ensure(id: string, name: string, cleverDistrictId: string | null = null): Promise<DistrictRow> {
    const now = this.now();
    await this.db
      .insertInto('districts')
      .values({
        id,
        name,
        clever_district_id: cleverDistrictId,
        data: null,
        hash: null,
        config: JSON.stringify(districtConfigSchema.parse({})),
        token_ciphertext: null,
        token_key_id: null,
        created_at: now,
        updated_at: now,
      })
      .onConflict((oc) => oc.column('id').doNothing())
      .execute();
    const row = await this.get(id);
    if (!row) throw new RostersyncError('not_found', `district ${id} could not be created`);
    return row;
  }

  async linkClever(id: string, cleverDistrictId: string): Promise<void> {
    await this.db
      .updateTable('districts')
      .set({ clever_district_id: cleverDistrictId, updated_at: this.now() })
      .where('id', '=', id)
      .execute();
  }

  /** Stores the district record from the source. Returns true when it changed. */
  async saveData(id: string, data: District, hash: string): Promise<boolean> {
    const res = await this.db
      .updateTable('districts')
      .set({ data: JSON.stringify(data), hash, name: data.name, updated_at: this.now() })
      .where('id', '=', id)
      .where((eb) => eb.or([eb('hash', 'is', null), eb('hash', '<>', hash)]))
      .executeTakeFirst();
    return Number(res.numUpdatedRows) > 0;
  }

  async setConfig(id: string, config: DistrictConfig): Promise<void> {
    const valid = districtConfigSchema.parse(config);
    await this.db
      .updateTable('districts')
      .set({ config: JSON.stringify(valid), updated_at: this.now() })
      .where('id', '=', id)
      .execute();
  }

  /** Stores the district's source token encrypted (never in clear). */
  async setToken(id: string, token: string, box: SecretBox): Promise<void> {
    await this.db
      .updateTable('districts')
      .set({ token_ciphertext: box.encrypt(token), token_key_id: box.keyId, updated_at: this.now() })
      .where('id', '=', id)
      .execute();
  }

  async getToken(id: string, box: SecretBox): Promise<string | null> {
    const row = await this.db
      .selectFrom('districts')
      .select(['token_ciphertext', 'token_key_id'])
      .where('id', '=', id)
      .executeTakeFirst();
    if (!row?.token_ciphertext) return null;
    return box.decrypt(row.token_ciphertext, row.token_key_id);
  }
}
