import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createManualAccount } from '../../src/accounts/manual.js';
import type { Entity } from '../../src/model/entities.js';
import type { StoredAccount } from '../../src/model/stored-account.js';
import { Store } from '../../src/store/store.js';
import { importCsv } from '../../src/sync/csv-import.js';
import type { RunReport } from '../../src/sync/run-report.js';
import { dumpDistrict } from '../helpers/store-dump.js';
import { configureDistrict, districtFiles, generateDistrict, tempFolders, writeDrop } from './fixtures.js';

/**
 * Hundreds of generated malformed drops against a district already imported: whatever arrives,
 * `importCsv` returns a report (never throws); a failed run names the file and changes nothing; an
 * accepted one reports problems by file and line, stores only what valid rows say, and archives (and
 * deactivates) only people whose key appears nowhere in the file. SQLite only: every case starts
 * from a copy of the baseline database file, which PostgreSQL has no cheap equivalent of.
 */

const D = 'district';
const district = generateDistrict({ students: 150, staff: 12 });
const files = districtFiles(district);
const FILE_NAMES = ['schools.csv', 'students.csv', 'school_staff.csv', 'staff_overrides.csv'] as const;
const OVERRIDES =
  '"staff_sis_id","title","access_type","school_number_list","grades"\r\n"STF0001","Coach","school","001,002","9,10"\r\n"STF0002","Nurse","caseload","",""\r\n';
/** The key column of each file the checks look records up by. */
const KEY: Partial<Record<string, { entity: Entity; column: string }>> = {
  'students.csv': { entity: 'students', column: 'student_sis_id' },
  'school_staff.csv': { entity: 'staff', column: 'staff_sis_id' },
};
const JUNK = [
  '',
  ' ',
  '"',
  '""',
  'a,b',
  '1.02E+08',
  '3rd',
  '14',
  '2012-02-30',
  '13/45/2010',
  '999',
  'K',
  'N/A',
  '\t',
  'é',
  '\u0000',
  'x'.repeat(70_000),
];

// ------------------------------------------------------------------------------ generated drops

type Bytes = string | Uint8Array;

/** Row-level edits of a valid file: the file stays CSV but some rows go bad. */
const rowEdit = fc.oneof(
  fc.record({
    op: fc.constant('cell' as const),
    row: fc.nat(),
    col: fc.nat(),
    value: fc.constantFrom(...JUNK),
  }),
  fc.record({ op: fc.constant('drop-row' as const), row: fc.nat() }),
  fc.record({ op: fc.constant('dup-row' as const), row: fc.nat() }),
  fc.record({ op: fc.constant('add-field' as const), row: fc.nat() }),
  fc.record({ op: fc.constant('remove-field' as const), row: fc.nat(), col: fc.nat() }),
  fc.record({ op: fc.constant('drop-rows' as const), row: fc.nat(), n: fc.integer({ min: 2, max: 60 }) }),
);
type RowEdit = typeof rowEdit extends fc.Arbitrary<infer T> ? T : never;

function applyRowEdits(text: string, edits: RowEdit[]): string {
  const [header, ...rows] = parse(text);
  for (const e of edits) {
    if (rows.length === 0) break;
    const i = e.row % rows.length;
    const row = rows[i]!;
    if (e.op === 'cell') row[e.col % row.length] = e.value;
    else if (e.op === 'drop-row') rows.splice(i, 1);
    else if (e.op === 'dup-row') rows.splice(i + 1, 0, [...row]);
    else if (e.op === 'add-field') row.push('extra');
    else if (e.op === 'drop-rows') rows.splice(i, e.n);
    else row.splice(e.col % row.length, 1);
  }
  const q = (v: string) => `"${v.replace(/"/g, '""')}"`;
  return [header!, ...rows].map((r) => r.map(q).join(',')).join('\r\n') + '\r\n';
}

/** Whole-file damage. */
const damage = (text: string): fc.Arbitrary<Bytes> =>
  fc.oneof(
    fc.uint8Array({ maxLength: 3000 }),
    fc.string({ unit: 'binary', maxLength: 2000 }),
    fc.nat().map((at) => {
      const i = at % (text.length + 1);
      return text.slice(0, i) + '"' + text.slice(i);
    }),
    fc.tuple(fc.nat(), fc.integer({ min: 1000, max: 400_000 })).map(([at, n]) => {
      const i = at % (text.length + 1);
      return text.slice(0, i) + 'y'.repeat(n) + text.slice(i);
    }),
    fc.constantFrom<BufferEncoding>('latin1', 'utf16le', 'ucs2').map((enc) => Buffer.from(text, enc)),
    fc.constant(Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(text, 'utf16le').swap16()])),
    fc.nat().map((at) => text.slice(0, at % (text.length + 1))), // truncated anywhere
    fc
      .subarray(text.split('\r\n')[0]!.split(','), { minLength: 0 })
      .chain((cols) =>
        fc
          .constantFrom(
            cols.join(','),
            cols.map((c) => c.toUpperCase()).join(','),
            cols.map((c) => c.replace(/_/g, ' ')).join(','),
            [...cols, cols[0] ?? '"x"'].join(','),
          )
          .map((header) => header + text.slice(text.indexOf('\r\n'))),
      ),
    fc.constant(text.replace(/\r\n/g, '\n').replace(/^/, '\ufeff')),
  );

interface Drop {
  name: string;
  files: Record<string, Bytes>;
}

/** A drop that prints as its name in a counterexample (the files themselves are long). */
function mkDrop(name: string, dropFiles: Record<string, Bytes>): Drop {
  return Object.assign({ name, files: dropFiles }, { [fc.toStringMethod]: () => JSON.stringify(name) });
}

const edited = (targets: fc.Arbitrary<(typeof FILE_NAMES)[number]>) =>
  fc.tuple(targets, fc.array(rowEdit, { minLength: 1, maxLength: 6 })).map(([target, edits]) => {
    const text = target === 'staff_overrides.csv' ? OVERRIDES : files[target]!;
    return mkDrop(`edited ${target}: ${JSON.stringify(edits).slice(0, 300)}`, {
      ...files,
      [target]: applyRowEdits(text, edits),
    });
  });

const dropArb: fc.Arbitrary<Drop> = fc.oneof(
  // One file damaged as a whole, the others valid.
  {
    weight: 3,
    arbitrary: fc.constantFrom(...FILE_NAMES).chain((target) => {
      const text = target === 'staff_overrides.csv' ? OVERRIDES : files[target]!;
      return damage(text).map((bytes) =>
        mkDrop(`damaged ${target}: ${text.length} → ${bytes.length}`, { ...files, [target]: bytes }),
      );
    }),
  },
  // Rows edited: mostly in the big file, where a few bad rows stay under the 2% rule.
  { weight: 3, arbitrary: edited(fc.constant('students.csv')) },
  { weight: 2, arbitrary: edited(fc.constantFrom(...FILE_NAMES)) },
  // A stray file beside valid ones.
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.stringMatching(/^[A-Za-z_]{1,12}\.(csv|CSV|xlsx|txt)$/), fc.uint8Array({ maxLength: 100 }))
      .filter(([n]) => !(FILE_NAMES as readonly string[]).includes(n))
      .map(([n, bytes]) => mkDrop(`stray ${n}`, { ...files, [n]: bytes })),
  },
);

// ------------------------------------------------------------------------------ the checks

/** Rows of a CSV text as the importer reads them (or null when it is not CSV). */
function rowsOf(bytes: Bytes | undefined): Record<string, string>[] | null {
  if (bytes === undefined) return null;
  try {
    const [header, ...rows] = parse(Buffer.from(bytes as Uint8Array).toString('utf8'), {
      bom: true,
      relax_column_count: true,
      skip_empty_lines: true,
      record_delimiter: ['\r\n', '\n', '\r'],
    });
    return rows
      .filter((r) => r.length === header!.length)
      .map((r) => Object.fromEntries(header!.map((h, i) => [h.trim(), r[i]!.trim()])));
  } catch {
    return null;
  }
}

const rawText = (bytes: Bytes | undefined) =>
  bytes === undefined ? '' : Buffer.from(bytes as Uint8Array).toString('latin1');

async function checkDrop(store: Store, drop: Drop, report: RunReport, baseline: Baseline): Promise<void> {
  expect(['succeeded', 'held', 'failed']).toContain(report.status);
  const names = Object.keys(drop.files);
  if (report.status === 'failed') {
    expect(report.reason).toMatch(/^input: /);
    expect(names.some((n) => report.reason!.includes(n))).toBe(true);
    expect(await dumpDistrict(store, D)).toEqual(baseline.dump);
    return;
  }
  for (const p of report.problems) {
    if (p.entity.endsWith('.csv')) {
      expect(names).toContain(p.entity);
      expect(p.recordId).toMatch(/^(line \d+|header)$/);
    } else expect(p.recordId).not.toBeNull();
    expect(p.reason).not.toBe('');
  }
  const scope = { district: D, source: 'csv' as const };
  for (const [file, spec] of Object.entries(KEY)) {
    const before = baseline.records.get(spec!.entity)!;
    const rows = rowsOf(drop.files[file]);
    const raw = rawText(drop.files[file]);
    for (const r of await store.records.list(scope, spec!.entity, { limit: 10_000 })) {
      if (before.get(r.sourceId) === r.hash) continue;
      // New or changed: a valid-looking row with that key and those names says so.
      const row = rows?.find((x) => x[spec!.column] === r.sourceId);
      expect(row, `${file}: ${r.sourceId} stored without a row`).toBeDefined();
      expect(r.data.name).toMatchObject({ first: row!.first_name, last: row!.last_name });
    }
    for (const [id] of before) {
      const now = await store.records.get(scope, spec!.entity, id);
      if (now?.archivedAt === null) continue;
      // Archived: only by an accepted full file in which that key appears nowhere.
      expect(report.status, `${file}: ${id} archived by a ${report.status} run`).toBe('succeeded');
      // As a whole field: a mutation may turn STF0008 into STF00089, which is a different person.
      const asField = new RegExp(
        `(^|[,"\\r\\n])[ \\t]*${id.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}[ \\t]*(?=[,"\\r\\n]|$)`,
      );
      expect(asField.test(raw), `${file}: ${id} archived but present in the file`).toBe(false);
    }
  }
  // Only accounts of archived records were deactivated; hand-made accounts are untouched.
  for (const a of await store.accounts.list({ district: D, limit: 10_000 })) {
    const was = baseline.accounts.get(a.id);
    if (was?.origin === 'manual') expect(a).toEqual(was);
    if (was?.status === 'active' && a.status === 'inactive') {
      const entity = a.kind === 'student' ? 'students' : 'staff';
      expect((await store.records.get(scope, entity, a.recordSourceId!))?.archivedAt).not.toBeNull();
    }
  }
}

interface Baseline {
  db: string;
  dump: Record<string, unknown>;
  records: Map<Entity, Map<string, string>>;
  accounts: Map<string, StoredAccount>;
}

describe('malformed CSV drops (property, SQLite)', () => {
  const tmp = tempFolders();
  let baseline: Baseline;
  beforeAll(async () => {
    const db = join(tmp.make(), 'baseline.db');
    const store = await Store.open({ location: db });
    await configureDistrict(store, D);
    const r = await importCsv({ store, dir: writeDrop(tmp.make(), files), district: D });
    expect(r.status, r.reason ?? '').toBe('succeeded');
    await createManualAccount(store, {
      district: D,
      kind: 'staff',
      name: { last: 'Manual' },
      email: 'm@example.org',
    });
    const records = new Map<Entity, Map<string, string>>();
    for (const e of ['students', 'staff', 'schools'] as const)
      records.set(
        e,
        new Map(
          (await store.records.list({ district: D }, e, { limit: 10_000 })).map((x) => [x.sourceId, x.hash]),
        ),
      );
    baseline = {
      db,
      dump: await dumpDistrict(store, D),
      records,
      accounts: new Map((await store.accounts.list({ district: D, limit: 10_000 })).map((a) => [a.id, a])),
    };
    await store.close();
  });
  afterAll(() => tmp.cleanup());

  it('never crashes, always explains, and stores nothing beyond what valid rows allow', async () => {
    const seen = { failed: 0, succeeded: 0, held: 0 };
    await fc.assert(
      fc.asyncProperty(dropArb, async (drop) => {
        const work = tmp.make();
        const db = join(work, 'case.db');
        copyFileSync(baseline.db, db);
        const store = await Store.open({ location: db });
        try {
          const report = await importCsv({
            store,
            dir: writeDrop(join(work, 'drop'), drop.files),
            district: D,
          });
          seen[report.status as keyof typeof seen]++;
          await checkDrop(store, drop, report, baseline);
        } finally {
          await store.close();
        }
      }),
      { numRuns: 300 },
    );
    // The generator reaches every outcome, so each branch of the checks ran.
    expect(seen.failed).toBeGreaterThan(50);
    expect(seen.succeeded).toBeGreaterThan(30);
    expect(seen.held).toBeGreaterThan(5);
  });
});
