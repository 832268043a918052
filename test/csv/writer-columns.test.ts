import { describe, expect, it } from 'vitest';
import { FILE_SPECS } from '../../src/sources/csv/csv-mapper.js';
import type { CsvFileName } from '../../src/sources/csv/csv-mapper.js';
import {
  OVERRIDE_COLUMNS,
  OVERRIDE_KEY_COLUMN,
  SCHOOL_COLUMNS,
  STAFF_COLUMNS,
  STUDENT_COLUMNS,
} from '../../src/sources/csv/csv-writer.js';

const known = (file: CsvFileName) => {
  const s = FILE_SPECS[file];
  return [...s.required, ...s.identifiers, ...(s.oneOf ?? []), ...s.optional].sort();
};

describe('export columns', () => {
  it('are exactly the columns import-csv reads, file by file', () => {
    expect([...SCHOOL_COLUMNS].sort()).toEqual(known('schools.csv'));
    expect([...STUDENT_COLUMNS].sort()).toEqual(known('students.csv'));
    expect([...STAFF_COLUMNS].sort()).toEqual(known('school_staff.csv'));
    for (const key of Object.values(OVERRIDE_KEY_COLUMN)) {
      expect(FILE_SPECS['staff_overrides.csv'].identifiers).toContain(key);
    }
    expect([...OVERRIDE_COLUMNS].sort()).toEqual([...FILE_SPECS['staff_overrides.csv'].optional].sort());
  });
});
