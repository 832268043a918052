import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { DistrictConfig } from '../../model/district-config.js';
import type { Entity, School } from '../../model/entities.js';
import type { RunProblem } from '../../model/run.js';
import { RostersyncError } from '../../shared/errors.js';
import { keyHash } from '../../shared/key-set.js';
import type {
  Source,
  SourceDistrict,
  SourcePage,
  SourceRecord,
  SourceStats,
  SourceStream,
} from '../source.js';
import {
  CSV_FILES,
  checkHeader,
  FILE_SPECS,
  keyColumn,
  mapOverrideRow,
  mapSchoolRow,
  mapStaffRow,
  mapStudentRow,
  rowProblem,
  SchoolIndex,
  schoolSourceId,
} from './csv-mapper.js';
import type { CsvFileName, OverrideRowResult, RowIssue, RowResult } from './csv-mapper.js';
import { fileError, readCsv } from './csv-reader.js';

export interface CsvSourceOptions {
  /** The folder holding the dropped files. */
  dir: string;
  districtName: string;
  config: DistrictConfig;
  /**
   * The district's stored (active) CSV schools. When a drop has no schools.csv they resolve school
   * references and are sent again unchanged, so the sync knows the schools the records point to.
   */
  knownSchools: ReadonlyArray<{ sourceId: string; school: School }>;
  /** Records per page. Default 2000. */
  pageSize?: number;
  /**
   * When set, a drop holding roster files (schools, students, staff) is refused with this reason
   * (the district has moved to Clever); staff_overrides.csv alone is still accepted.
   */
  refuseRoster?: string;
}

interface FileScan {
  path: string;
  rows: number;
  invalid: number;
  /** Lines holding a second copy of a key (skipped; the first copy is used). */
  duplicateLines: Map<number, number>;
  headerProblems: RunProblem[];
  /** staff_overrides.csv only (it has no stream of its own): its skipped rows, for the report. */
  rowProblems: RunProblem[];
  columns: string[];
}

/** The stream that re-sends the stored schools when a drop has no schools.csv. */
const STORED_SCHOOLS = 'schools (stored)';

const ENTITY_OF: Partial<Record<CsvFileName, Entity>> = {
  'schools.csv': 'schools',
  'students.csv': 'students',
  'school_staff.csv': 'staff',
};

/**
 * A drop folder of district CSV files as a source. Files are read twice, both times streaming:
 * first to validate (so a rejected file applies nothing, and too many bad rows reject the whole
 * file), then to yield pages of records. What grows with the file is one map of 53-bit key hashes
 * to line numbers while validating (duplicate keys; ~20 bytes a row), and the sync's set of seen
 * key hashes (unordered streams; see shared/key-set.ts).
 */
export class CsvSource implements Source {
  readonly kind = 'csv' as const;
  private scans = new Map<CsvFileName, FileScan>();
  private schoolIndex = new SchoolIndex();
  private validated: Promise<void> | null = null;
  private overrideRows: OverrideRowResult[] = [];
  private rowsRead = 0;

  constructor(private readonly opts: CsvSourceOptions) {}

  /** Files found, in processing order (schools first). */
  get files(): CsvFileName[] {
    return CSV_FILES.filter((f) => this.scans.has(f));
  }

  /** staff_overrides.csv rows (after validation), or null when the drop has no such file. */
  get overrides(): OverrideRowResult[] | null {
    return this.scans.has('staff_overrides.csv') ? this.overrideRows : null;
  }

  /** staff_overrides.csv warnings and skipped rows (after validation); the import reports them. */
  get overrideProblems(): RunProblem[] {
    const scan = this.scans.get('staff_overrides.csv');
    return scan ? [...scan.headerProblems, ...scan.rowProblems] : [];
  }

  district(): Promise<SourceDistrict> {
    return Promise.resolve({ sourceDistrictId: null, data: { name: this.opts.districtName } });
  }

  stats(): SourceStats {
    return { requests: 0, retries: 0, rows: this.rowsRead };
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  /**
   * Checks every file before anything is applied. Throws an `input` error naming the file for:
   * an unknown file name, a file that is not UTF-8 CSV, missing required columns, or more invalid
   * rows than the district allows (default 2%).
   */
  validate(): Promise<void> {
    this.validated ??= this.scanAll();
    return this.validated;
  }

  private async scanAll(): Promise<void> {
    let names: string[];
    try {
      names = await readdir(this.opts.dir);
    } catch (err) {
      throw new RostersyncError('input', `${this.opts.dir}: cannot read the folder`, { cause: err });
    }
    const present = new Map<CsvFileName, string>();
    for (const name of names.sort()) {
      const path = join(this.opts.dir, name);
      if (!(await stat(path)).isFile() || name.startsWith('.')) continue;
      // Any other file is refused, not skipped: a `students.xlsx` or `Students.csv` dropped for
      // import must not leave the district believing its students were imported.
      if (!(CSV_FILES as readonly string[]).includes(name)) {
        const near = CSV_FILES.find((f) => f.toLowerCase() === name.toLowerCase());
        const what = name.toLowerCase().endsWith('.csv') ? 'unknown file name' : 'not a CSV roster file';
        throw fileError(
          name,
          `${what}${near ? ` (file names are exact: "${near}")` : ''}; expected one of ${CSV_FILES.join(', ')}; nothing was applied`,
        );
      }
      present.set(name as CsvFileName, path);
    }
    if (present.size === 0)
      throw new RostersyncError('input', `${this.opts.dir}: no roster files (${CSV_FILES.join(', ')})`);
    const roster = [...present.keys()].filter((f) => f !== 'staff_overrides.csv');
    if (this.opts.refuseRoster !== undefined && roster.length > 0) {
      throw new RostersyncError(
        'input',
        `${roster.join(', ')}: ${this.opts.refuseRoster}; nothing was applied`,
      );
    }
    if (!present.has('schools.csv')) {
      for (const s of this.opts.knownSchools) this.schoolIndex.add(s.sourceId, s.school);
    }
    for (const file of CSV_FILES) {
      const path = present.get(file);
      if (path) this.scans.set(file, await this.scanFile(file, path));
    }
  }

  private mapRow(file: CsvFileName, values: Record<string, string>): RowResult<unknown> {
    switch (file) {
      case 'schools.csv':
        return mapSchoolRow(values);
      case 'students.csv':
        return mapStudentRow(values, this.opts.config, this.schoolIndex);
      case 'school_staff.csv':
        return mapStaffRow(values, this.opts.config, this.schoolIndex);
      default:
        throw new Error(`no row mapper for ${file}`);
    }
  }

  private async scanFile(file: CsvFileName, path: string): Promise<FileScan> {
    const scan: FileScan = {
      path,
      rows: 0,
      invalid: 0,
      duplicateLines: new Map(),
      headerProblems: [],
      rowProblems: [],
      columns: [],
    };
    const firstErrors: string[] = [];
    const keys = new Map<string, number>(); // staff_overrides.csv only (small)
    // Roster files: key hashes → first line. 53-bit hashes keep a 500,000-row file's map small; a
    // hash hit is only a suspected duplicate, confirmed on the second pass by comparing the keys.
    const hashedKeys = new Map<number, number>();
    const note = (line: number, issues: RowIssue[]) => {
      scan.invalid++;
      if (file === 'staff_overrides.csv')
        for (const i of issues)
          scan.rowProblems.push(
            rowProblem(file, line, { ...i, reason: `${i.reason}; this row was skipped` }),
          );
      if (firstErrors.length < 5)
        firstErrors.push(
          `line ${line}${issues[0]?.column ? ` [${issues[0].column}]` : ''}: ${issues[0]?.reason ?? 'invalid'}`,
        );
    };
    for await (const row of readCsv(path, file, (h) => {
      scan.columns = h.columns;
      const check = checkHeader(file, h.columns, this.opts.config);
      if (check.errors.length > 0)
        throw fileError(file, `${check.errors.join('; ')}; the file was not applied`);
      for (const u of check.unknown) {
        scan.headerProblems.push({
          severity: 'warning',
          entity: file,
          recordId: 'header',
          field: u,
          reason: 'unknown column; ignored',
        });
      }
    })) {
      scan.rows++;
      if (row.fieldCountError) {
        note(row.line, [{ column: null, reason: row.fieldCountError }]);
        continue;
      }
      if (file === 'staff_overrides.csv') {
        const r = mapOverrideRow(scan.columns, row.values, this.opts.config, this.schoolIndex);
        if (!r.ok) note(row.line, r.errors);
        else {
          const k = `${r.value.keyType}\u0000${r.value.keyValue}`;
          const first = keys.get(k);
          if (first !== undefined) {
            scan.duplicateLines.set(row.line, first);
            note(row.line, [{ column: scan.columns[0]!, reason: `duplicate key (first on line ${first})` }]);
          } else {
            keys.set(k, row.line);
            this.overrideRows.push(r.value);
          }
        }
        continue;
      }
      const r = this.mapRow(file, row.values);
      if (!r.ok) {
        note(row.line, r.errors);
        continue;
      }
      const h = keyHash(r.sourceId);
      const first = hashedKeys.get(h);
      if (first !== undefined) {
        scan.duplicateLines.set(row.line, first);
        note(row.line, [
          {
            column: keyColumn(file, this.opts.config) ?? FILE_SPECS[file].identifiers[0]!,
            reason: `duplicate key (first on line ${first})`,
          },
        ]);
        continue;
      }
      hashedKeys.set(h, row.line);
      if (file === 'schools.csv') this.schoolIndex.add(r.sourceId, r.data as School);
    }
    const share = scan.rows === 0 ? 0 : scan.invalid / scan.rows;
    if (share > this.opts.config.csv.maxInvalidShare) {
      throw fileError(
        file,
        `${scan.invalid} of ${scan.rows} rows (${(share * 100).toFixed(1)}%) are invalid, more than the ${(this.opts.config.csv.maxInvalidShare * 100).toFixed(1)}% allowed; the file was not applied. First errors: ${firstErrors.join('; ')}`,
      );
    }
    return scan;
  }

  streams(): SourceStream[] {
    const out: SourceStream[] = [];
    let schools: string | null = this.scans.has('schools.csv') ? 'schools.csv' : null;
    if (
      schools === null &&
      this.opts.knownSchools.length > 0 &&
      this.files.some((f) => f !== 'staff_overrides.csv')
    ) {
      // No schools.csv in this drop: the stored schools stand, and the sync must know them to accept
      // the students and staff that point to them.
      schools = STORED_SCHOOLS;
      out.push({
        name: STORED_SCHOOLS,
        entities: ['schools'],
        ordered: false,
        dependsOn: [],
        pages: () => this.storedSchools(),
      });
    }
    for (const file of ['schools.csv', 'students.csv', 'school_staff.csv'] as const) {
      const scan = this.scans.get(file);
      const entity = ENTITY_OF[file]!;
      if (!scan) continue;
      out.push({
        name: file,
        entities: [entity],
        ordered: false,
        dependsOn: file !== 'schools.csv' && schools !== null ? [schools] : [],
        pages: () => this.pages(file, scan, entity),
      });
    }
    return out;
  }

  // eslint-disable-next-line @typescript-eslint/require-await
  private async *storedSchools(): AsyncGenerator<SourcePage> {
    yield {
      records: this.opts.knownSchools.map((s) => ({
        entity: 'schools',
        sourceId: s.sourceId,
        data: s.school,
      })),
      invalidIds: [],
      problems: [],
      cursor: null,
    };
  }

  /** The key a row names, as far as the row can be read (a broken row still keeps its person). */
  private rowKey(file: CsvFileName, values: Record<string, string>): string | null {
    if (file === 'schools.csv') return schoolSourceId(values);
    const column = keyColumn(file, this.opts.config);
    return (column !== null && values[column]) || null;
  }

  private async *pages(file: CsvFileName, scan: FileScan, entity: Entity): AsyncGenerator<SourcePage> {
    const size = this.opts.pageSize ?? 2000;
    let page: SourcePage = { records: [], invalidIds: [], problems: [...scan.headerProblems], cursor: null };
    // First lines of suspected duplicates, and the keys they turned out to hold (see scanFile).
    const firstLines = new Set(scan.duplicateLines.values());
    const keyAtLine = new Map<number, string>();
    for await (const row of readCsv(scan.path, file, () => undefined)) {
      this.rowsRead++;
      let duplicate = false;
      if (!row.fieldCountError && (firstLines.has(row.line) || scan.duplicateLines.has(row.line))) {
        const key = this.rowKey(file, row.values);
        if (firstLines.has(row.line) && key) keyAtLine.set(row.line, key);
        const first = scan.duplicateLines.get(row.line);
        duplicate = first !== undefined && key !== null && keyAtLine.get(first) === key;
      }
      if (row.fieldCountError) {
        page.problems.push(
          rowProblem(file, row.line, {
            column: null,
            reason: `${row.fieldCountError}; this row was skipped`,
          }),
        );
        // A row broken by a stray separator still names its person: keep them as they are.
        const key = this.rowKey(file, row.values);
        if (key) page.invalidIds.push(key);
        else page.skipped = (page.skipped ?? 0) + 1;
      } else if (duplicate) {
        page.problems.push(
          rowProblem(file, row.line, {
            column: keyColumn(file, this.opts.config) ?? FILE_SPECS[file].identifiers[0]!,
            reason: `duplicate key (first on line ${scan.duplicateLines.get(row.line)}); this row was skipped`,
          }),
        );
        page.skipped = (page.skipped ?? 0) + 1;
      } else {
        const r = this.mapRow(file, row.values);
        if (r.ok) {
          page.records.push({ entity, sourceId: r.sourceId, data: r.data } as SourceRecord);
          for (const w of r.warnings) page.problems.push(rowProblem(file, row.line, w, 'warning'));
        } else {
          for (const e of r.errors) page.problems.push(rowProblem(file, row.line, e));
          // A bad row never deactivates the person it was about.
          if (r.key) page.invalidIds.push(r.key);
          else page.skipped = (page.skipped ?? 0) + 1;
        }
      }
      if (page.records.length + page.invalidIds.length >= size) {
        yield page;
        page = { records: [], invalidIds: [], problems: [], cursor: null };
      }
    }
    yield page;
  }
}
