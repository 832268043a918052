import type { Entity, School, StoredRecord } from '../model/entities.js';
import {
  OVERRIDE_COLUMNS,
  OVERRIDE_KEY_COLUMN,
  overrideRow,
  SCHOOL_COLUMNS,
  STAFF_COLUMNS,
  STUDENT_COLUMNS,
  schoolRow,
  staffRow,
  studentRow,
  writeCsvFile,
} from '../sources/csv/csv-writer.js';
import type { Store } from '../store/store.js';

async function* records<E extends Entity>(
  store: Store,
  district: string,
  entity: E,
): AsyncGenerator<StoredRecord<E>> {
  for (let after: string | undefined; ;) {
    const page = await store.records.list({ district }, entity, { limit: 2000, ...(after ? { after } : {}) });
    if (page.length === 0) return;
    yield* page;
    after = page[page.length - 1]!.sourceId;
  }
}

export interface ExportResult {
  schools: number;
  students: number;
  staff: number;
  /** Rows of staff_overrides.csv (written only when the district has CSV overrides). */
  overrides: number;
}

/**
 * Writes the district's active roster as schools.csv, students.csv and school_staff.csv (the
 * import formats), whatever source it came from, and its staff_overrides.csv when it has one.
 * Importing the files into an empty store gives the same roster and accounts back.
 */
export async function exportCsv(store: Store, district: string, dir: string): Promise<ExportResult> {
  const schools = new Map<string, School>();
  for await (const s of records(store, district, 'schools')) schools.set(s.sourceId, s.data);
  const out: ExportResult = { schools: schools.size, students: 0, staff: 0, overrides: 0 };
  await writeCsvFile(
    dir,
    'schools.csv',
    SCHOOL_COLUMNS,
    (function* () {
      for (const s of schools.values()) yield schoolRow(s);
    })(),
  );
  await writeCsvFile(
    dir,
    'students.csv',
    STUDENT_COLUMNS,
    (async function* () {
      for await (const s of records(store, district, 'students')) {
        out.students++;
        yield studentRow(s.data, schools.get(s.data.schoolId));
      }
    })(),
  );
  await writeCsvFile(
    dir,
    'school_staff.csv',
    STAFF_COLUMNS,
    (async function* () {
      for await (const s of records(store, district, 'staff')) {
        out.staff++;
        yield staffRow(s.data, schools);
      }
    })(),
  );
  // CSV overrides all come from one staff_overrides.csv, so they share its key column.
  const overrides = (await store.overrides.list(district)).filter((o) => o.origin === 'csv');
  const keyColumn = overrides[0] ? OVERRIDE_KEY_COLUMN[overrides[0].keyType] : undefined;
  if (keyColumn !== undefined) {
    const rows = overrides.filter((o) => OVERRIDE_KEY_COLUMN[o.keyType] === keyColumn);
    out.overrides = rows.length;
    await writeCsvFile(
      dir,
      'staff_overrides.csv',
      [keyColumn, ...OVERRIDE_COLUMNS],
      (function* () {
        for (const o of rows) yield { [keyColumn]: o.keyValue, ...overrideRow(o.fields, schools) };
      })(),
    );
  }
  return out;
}
