import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { openDatabase } from '../../src/store/db.js';
import { migrateToLatest } from '../../src/store/migrator.js';
import { describeEachDatabase } from '../helpers/databases.js';
import { dumpSchema } from './schema-dump.js';

/**
 * Fresh migrations produce exactly the committed schema (test/store/schema/<kind>.sql), on both
 * databases. After adding a migration, write the files anew with `node scripts/dump-schema.mjs` (which sets
 * ROSTERSYNC_WRITE_SCHEMA=1 for this test) and review their diff.
 */
const SCHEMA_DIR = join(dirname(fileURLToPath(import.meta.url)), 'schema');

describeEachDatabase('store: schema', (dbs) => {
  it('fresh migrations produce exactly the committed schema', async () => {
    const database = openDatabase({ location: await dbs.fresh() });
    try {
      await migrateToLatest(database.db, database.migrations);
      const dump = await dumpSchema(database.db, dbs.kind);
      const file = join(SCHEMA_DIR, `${dbs.kind}.sql`);
      if (process.env.ROSTERSYNC_WRITE_SCHEMA === '1') {
        mkdirSync(SCHEMA_DIR, { recursive: true });
        writeFileSync(file, dump);
      }
      expect(dump).toBe(readFileSync(file, 'utf8'));
    } finally {
      await database.close();
    }
  });
});
