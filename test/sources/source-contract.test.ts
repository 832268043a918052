import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { districtConfigSchema } from '../../src/model/district-config.js';
import { canonicalJson } from '../../src/model/hash.js';
import { startCleverSimulator } from '../../src/simulator/index.js';
import type { CleverSimulator } from '../../src/simulator/index.js';
import { CleverSource } from '../../src/sources/clever/clever-source.js';
import { CsvSource } from '../../src/sources/csv/csv-source.js';
import type { Source, SourcePage } from '../../src/sources/source.js';

/**
 * The contract every source keeps with the sync (see src/sources/source.ts), run against each
 * source: Clever over HTTP (the simulator, and a small server of broken records), decoded in the
 * worker and on the main thread; CSV from real files (the springfield sample and generated drops).
 *
 * - Completeness: each stream is the complete snapshot of the entities it names, and only of them;
 *   no two streams name the same entity; a stream depends only on streams listed before it.
 * - Order: an ordered stream's pages ascend, and each covers the consecutive range (previous
 *   cursor, cursor] of source ids; an unordered stream gives no cursor.
 * - Unreadable records are report data (problems, invalid ids), never a thrown error.
 * - Reading twice, from the same source or a fresh one, gives the same records and problems.
 */

interface Fixture {
  name: string;
  /** A fresh source over the fixture's input. */
  open(): Source;
  /** Ids of records the input holds that cannot be read: each must come back as an invalid id. */
  broken: string[];
  /**
   * What the error problems of those records name them by (default: their ids; a CSV problem names
   * the row's line, which is where the district fixes it).
   */
  brokenAt?: string[];
  /** Problems (with no id) the input must come back with: the reasons, in part. */
  brokenWithoutId?: RegExp[];
}

/** Everything a source gives, by stream, in order; with what the contract needs to check. */
interface Reading {
  streams: Array<{
    name: string;
    entities: string[];
    ordered: boolean;
    dependsOn: string[];
    pages: Array<{
      records: Array<{ entity: string; sourceId: string; data: string }>;
      invalidIds: string[];
      problems: SourcePage['problems'];
      cursor: string | null;
    }>;
  }>;
}

async function read(source: Source): Promise<Reading> {
  await source.validate?.();
  await source.district();
  const out: Reading = { streams: [] };
  for (const s of source.streams()) {
    const pages: Reading['streams'][number]['pages'] = [];
    for await (const p of s.pages()) {
      pages.push({
        records: p.records.map((r) => ({
          entity: r.entity,
          sourceId: r.sourceId,
          data: canonicalJson(r.data),
        })),
        invalidIds: p.invalidIds,
        problems: p.problems,
        cursor: p.cursor,
      });
    }
    out.streams.push({
      name: s.name,
      entities: s.entities,
      ordered: s.ordered,
      dependsOn: s.dependsOn,
      pages,
    });
  }
  return out;
}

let sim: CleverSimulator;
let broken: Server;
let brokenUrl: string;
let dir: string;

/** A Clever district whose users and sections include records that cannot be mapped. */
const BROKEN_USERS = [
  {
    id: '5f0000000000000000000001',
    name: { first: 'Fine', last: 'Student' },
    roles: { student: { school: 'sch1' } },
  },
  { id: '5f0000000000000000000002', name: { first: 'No', last: 'School' }, roles: { student: {} } },
  { id: '5f0000000000000000000003', name: { first: 'No', last: 'Roles' } },
  { name: { first: 'No', last: 'Id' }, roles: { student: { school: 'sch1' } } },
  {
    id: '5f0000000000000000000005',
    name: { first: 'Bad', last: 'Grade' },
    roles: { student: { school: 'sch1', grade: 'x' } },
  },
];
const BROKEN_SECTIONS = [
  { id: '5f00000000000000000000a1', school: 'sch1', name: 'Fine' },
  { id: '5f00000000000000000000a2', name: 'No school' },
];

function list(items: unknown[]): string {
  return JSON.stringify({ data: items.map((data) => ({ data })), links: [{ rel: 'self', uri: '/v3.0/x' }] });
}

function csvFile(header: string[], rows: string[][]): string {
  return (
    [header, ...rows].map((r) => r.map((v) => `"${v.replaceAll('"', '""')}"`).join(',')).join('\n') + '\n'
  );
}

/** A generated CSV drop: two schools, 200 students (two of them unreadable), a few staff. */
async function generatedDrop(): Promise<string> {
  const drop = await mkdtemp(join(tmpdir(), 'rostersync-contract-'));
  await writeFile(
    join(drop, 'schools.csv'),
    csvFile(
      ['school_number', 'name', 'low_grade', 'high_grade'],
      [
        ['001', 'Zoë Elementary', 'K', '5'],
        ['002', 'Middle 王', '6', '8'],
      ],
    ),
  );
  const students: string[][] = [];
  for (let i = 0; i < 200; i++)
    students.push([`S${1000 + i}`, `N${i}`, 'Last', String(1 + (i % 8)), i % 2 === 0 ? '001' : '002']);
  students[17]![1] = ''; // no first name
  students[42]![4] = '999'; // no such school
  await writeFile(
    join(drop, 'students.csv'),
    csvFile(['student_sis_id', 'first_name', 'last_name', 'grade_year', 'school_number'], students),
  );
  await writeFile(
    join(drop, 'school_staff.csv'),
    csvFile(
      ['staff_sis_id', 'first_name', 'last_name', 'email', 'role', 'school_number_list'],
      [
        ['T1', 'Ann', 'Lee', 'ann@x.example', 'teacher', '001'],
        ['T2', 'Bo', 'Ng', 'bo@x.example', 'staff', '001,002'],
      ],
    ),
  );
  return drop;
}

beforeAll(async () => {
  sim = await startCleverSimulator({ seed: 41, students: 240 });
  broken = createServer((req, res) => {
    const path = new URL(req.url!, 'http://x').pathname;
    res.setHeader('content-type', 'application/json');
    if (path.endsWith('/districts')) res.end(list([{ id: 'd1', name: 'Broken District' }]));
    else if (path.endsWith('/schools')) res.end(list([{ id: 'sch1', name: 'One School' }]));
    else if (path.endsWith('/sections')) res.end(list(BROKEN_SECTIONS));
    else if (path.endsWith('/users') && new URL(req.url!, 'http://x').searchParams.get('role') === 'student')
      res.end(list(BROKEN_USERS));
    else res.end(list([]));
  });
  await new Promise<void>((resolve) => broken.listen(0, '127.0.0.1', resolve));
  brokenUrl = `http://127.0.0.1:${(broken.address() as AddressInfo).port}`;
  dir = await generatedDrop();
});

afterAll(async () => {
  await sim?.close();
  await new Promise((resolve) => broken?.close(resolve));
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** The sample's config (it defines the `counselor` role its staff file uses). */
const config = districtConfigSchema.parse({ csv: { customRoles: { counselor: 'staff' } } });
const csv = (path: () => string, pageSize: number) => (): Source =>
  new CsvSource({ dir: path(), districtName: 'Contract', config, knownSchools: [], pageSize });

const FIXTURES: Fixture[] = [
  ...[true, false].map((decodeInWorker): Fixture => ({
    name: `Clever, the simulator (decoded ${decodeInWorker ? 'in the worker' : 'on the main thread'})`,
    open: () =>
      new CleverSource({
        baseUrl: sim.url,
        token: sim.token,
        apiVersion: 'v3.0',
        pageSize: 40,
        decodeInWorker,
      }),
    broken: [],
  })),
  {
    name: 'Clever, records that cannot be mapped',
    open: () =>
      new CleverSource({ baseUrl: brokenUrl, token: 't', apiVersion: 'v3.0', pageSize: 2, maxRetries: 0 }),
    broken: ['5f0000000000000000000002', '5f0000000000000000000003', '5f00000000000000000000a2'],
    brokenWithoutId: [/no id/],
  },
  { name: 'CSV, the springfield sample', open: csv(() => 'samples/csv/springfield', 5), broken: [] },
  {
    name: 'CSV, a generated drop with unreadable rows',
    open: csv(() => dir, 16),
    broken: ['S1017', 'S1042'],
    brokenAt: ['line 19', 'line 44'],
  },
];

describe.each(FIXTURES)('the source contract: $name', (fixture) => {
  let first: Reading;
  beforeAll(async () => {
    const source = fixture.open();
    try {
      first = await read(source);
    } finally {
      await source.close();
    }
  });

  it('streams are complete snapshots of the entities they name, one stream per entity, in dependency order', () => {
    const seen = new Set<string>();
    for (const s of first.streams) {
      expect(s.entities.length).toBeGreaterThan(0);
      for (const e of s.entities) {
        expect(seen.has(e), `${e} is named by two streams`).toBe(false);
        seen.add(e);
      }
      for (const d of s.dependsOn)
        expect(first.streams.slice(0, first.streams.indexOf(s)).map((x) => x.name)).toContain(d);
      for (const p of s.pages) for (const r of p.records) expect(s.entities).toContain(r.entity);
    }
    // Every stream yields something from these inputs, so a stream that silently stops shows here.
    expect(first.streams.flatMap((s) => s.pages.flatMap((p) => p.records)).length).toBeGreaterThan(0);
  });

  it('ordered streams come in ascending pages covering consecutive ranges; unordered ones give no cursor', () => {
    for (const s of first.streams) {
      if (!s.ordered) {
        for (const p of s.pages) expect(p.cursor).toBeNull();
        continue;
      }
      let previous: string | null = null;
      for (const p of s.pages) {
        const ids = [...p.records.map((r) => r.sourceId), ...p.invalidIds];
        if (ids.length > 0) expect(p.cursor).not.toBeNull();
        for (const id of ids) {
          if (previous !== null)
            expect(id > previous, `${s.name}: ${id} after the range up to ${previous}`).toBe(true);
          expect(id <= p.cursor!, `${s.name}: ${id} beyond its page's cursor ${p.cursor}`).toBe(true);
        }
        const sorted = p.records.map((r) => r.sourceId);
        expect(sorted).toEqual([...sorted].sort());
        if (p.cursor !== null) {
          if (previous !== null) expect(p.cursor > previous).toBe(true);
          previous = p.cursor;
        }
      }
    }
    // The simulator's ordered streams span several pages, so the ranges are really checked.
    if (fixture.name.includes('simulator'))
      expect(first.streams.some((s) => s.ordered && s.pages.length > 2)).toBe(true);
  });

  it('reports unreadable records as invalid ids and problems, never as a thrown error', () => {
    const pages = first.streams.flatMap((s) => s.pages);
    const invalid = pages.flatMap((p) => p.invalidIds);
    const problems = pages.flatMap((p) => p.problems);
    const recordIds = new Set(pages.flatMap((p) => p.records.map((r) => r.sourceId)));
    for (const id of fixture.broken) {
      expect(invalid).toContain(id);
      expect(recordIds.has(id)).toBe(false);
    }
    for (const at of fixture.brokenAt ?? fixture.broken)
      expect(problems).toContainEqual(expect.objectContaining({ recordId: at, severity: 'error' }));
    for (const reason of fixture.brokenWithoutId ?? [])
      expect(
        problems.some((p) => p.severity === 'error' && reason.test(`${p.field ?? ''} ${p.reason}`)),
      ).toBe(true);
    // An invalid id is one the source could not read: it never also comes as a record.
    for (const id of invalid) expect(recordIds.has(id)).toBe(false);
    if (fixture.broken.length === 0 && !fixture.brokenWithoutId) expect(invalid).toEqual([]);
  });

  it('gives the same records and problems when read again, from the same source or a fresh one', async () => {
    const source = fixture.open();
    try {
      expect(await read(source)).toEqual(first);
      expect(await read(source)).toEqual(first);
    } finally {
      await source.close();
    }
  });
});
