import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import type { DbKind } from '../helpers/databases.js';

/**
 * The schema of a database as stable text: one line per table column, constraint and index,
 * sorted, without owners, comments, statistics or anything else that differs between two
 * databases built by the same migrations. Compared with test/store/schema/<kind>.sql.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- reads the catalogue, not our tables
export async function dumpSchema(db: Kysely<any>, kind: DbKind): Promise<string> {
  const lines = kind === 'sqlite' ? await sqliteLines(db) : await postgresLines(db);
  return `${lines.sort().join('\n')}\n`;
}

const oneLine = (s: string) => s.replace(/\s+/g, ' ').replace(/\( /g, '(').replace(/ \)/g, ')').trim();

// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function sqliteLines(db: Kysely<any>): Promise<string[]> {
  const r = await sql<{ type: string; name: string; sql: string | null }>`
    select type, name, sql from sqlite_master where name not like 'sqlite_%'`.execute(db);
  return r.rows.map((o) => `${o.type} ${o.name}: ${o.sql ? oneLine(o.sql) : '(implicit)'};`);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function postgresLines(db: Kysely<any>): Promise<string[]> {
  const columns = await sql<{
    table_name: string;
    column_name: string;
    data_type: string;
    is_nullable: string;
    column_default: string | null;
    collation_name: string | null;
  }>`
    select table_name, column_name, data_type, is_nullable, column_default, collation_name
    from information_schema.columns where table_schema = 'public'`.execute(db);
  const constraints = await sql<{ table_name: string; name: string; def: string }>`
    select c.conrelid::regclass::text as table_name, c.conname as name, pg_get_constraintdef(c.oid) as def
    from pg_constraint c join pg_namespace n on n.oid = c.connamespace
    where n.nspname = 'public'`.execute(db);
  const indexes = await sql<{ indexname: string; indexdef: string }>`
    select indexname, indexdef from pg_indexes where schemaname = 'public'`.execute(db);
  return [
    ...columns.rows.map(
      (c) =>
        `column ${c.table_name}.${c.column_name}: ${c.data_type}` +
        `${c.collation_name ? ` collate "${c.collation_name}"` : ''}` +
        `${c.is_nullable === 'NO' ? ' not null' : ''}` +
        `${c.column_default !== null ? ` default ${c.column_default}` : ''};`,
    ),
    ...constraints.rows.map((c) => `constraint ${c.table_name}.${c.name}: ${oneLine(c.def)};`),
    ...indexes.rows.map((i) => `index ${i.indexname}: ${oneLine(i.indexdef)};`),
  ];
}
