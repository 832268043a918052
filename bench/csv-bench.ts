/**
 * `npx tsx bench/csv-bench.ts [--rows N] [--database postgres://…]`
 *
 * Generates a students.csv of N rows (default 500,000) and a matching schools.csv in a temp folder,
 * imports them with `importCsv` into a fresh database (a SQLite file, or a new database on the given
 * PostgreSQL server), samples the process RSS every 200 ms during the import, and prints one JSON
 * object:
 *   {rows, seconds, rowsPerSecond, peakRssMb, rssAtStartMb, rssSamplesMb, rowsAtSamples,
 *    heapUsedSamplesMb, fileMb, database}
 * `rssSamplesMb` holds ten points spread evenly over the import (with the rows read at each point in
 * `rowsAtSamples`), so one can see memory stay flat while the file streams: the reader never holds
 * more than a page of records; what grows with the file is only its keys (the duplicate check while
 * validating, and the sync's set of ids seen, used to find absent students).
 *
 * The file is written before the store is opened, streaming, so generating it costs no memory.
 */
import { createWriteStream, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { silentLogger } from '../src/shared/logger.js';
import { isPostgresUrl } from '../src/store/db.js';
import { freshDatabase } from './fresh-database.js';
import { Store } from '../src/store/store.js';
import { importCsv } from '../src/sync/csv-import.js';

const { values: args } = parseArgs({
  options: {
    rows: { type: 'string', default: '500000' },
    database: { type: 'string' },
  },
});
const rows = Number(args.rows);
if (!Number.isInteger(rows) || rows <= 0) throw new Error('--rows must be a positive integer');

const SCHOOLS = 20;
const FIRST = ['Ana', 'Zoë', 'Liam', "D'Andre", 'Siobhán', 'Kofi', 'Wei', 'María José'];
const LAST = ['Martinez', "O'Brien", 'Chen', 'Okafor', 'Nguyễn', 'Smith, Jr.', 'Dvořák', 'Patel'];
const q = (v: string) => `"${v.replace(/"/g, '""')}"`;

async function writeFiles(dir: string): Promise<void> {
  const schools = ['school_number,school_sis_id,school_state_id,name,low_grade,high_grade'];
  for (let s = 0; s < SCHOOLS; s++)
    schools.push(
      [String(s + 1).padStart(3, '0'), `SIS-${s}`, `ST-${9000 + s}`, `School ${s}`, 'K', '12']
        .map(q)
        .join(','),
    );
  writeFileSync(join(dir, 'schools.csv'), schools.join('\r\n') + '\r\n');

  const out = createWriteStream(join(dir, 'students.csv'));
  const header = [
    'student_sis_id',
    'student_number',
    'student_state_id',
    'first_name',
    'last_name',
    'grade_year',
    'school_number',
    'email',
    'birthday',
    'gender',
    'ell_status',
    'graduation_year',
    'home_language',
  ];
  let chunk = header.join(',') + '\r\n';
  for (let i = 0; i < rows; i++) {
    const grade = i % 13;
    chunk +=
      [
        `S${String(i).padStart(8, '0')}`,
        String(i + 1).padStart(7, '0'),
        `IL${70000000 + i}`,
        FIRST[i % FIRST.length]!,
        LAST[(i * 7) % LAST.length]!,
        grade === 0 ? 'K' : String(grade),
        String((i % SCHOOLS) + 1).padStart(3, '0'),
        i % 5 === 0 ? '' : `s${i}@students.example.org`,
        `${2019 - grade}-0${(i % 9) + 1}-1${i % 9}`,
        ['F', 'M', 'X'][i % 3]!,
        i % 7 === 0 ? 'Y' : 'N',
        String(2032 + (12 - grade)),
        i % 3 === 0 ? 'Spanish' : 'English',
      ]
        .map(q)
        .join(',') + '\r\n';
    if (chunk.length > 1 << 20) {
      if (!out.write(chunk)) await once(out, 'drain');
      chunk = '';
    }
  }
  out.end(chunk);
  await once(out, 'finish');
}

const mb = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10;

/** `n` points spread evenly over `list` (first and last included). */
function spread<T>(list: readonly T[], n: number): T[] {
  if (list.length <= n) return [...list];
  return [...Array(n).keys()].map((k) => list[Math.round((k * (list.length - 1)) / (n - 1))]!);
}

const root = mkdtempSync(join(tmpdir(), 'rostersync-csv-bench-'));
const dir = join(root, 'drop'); // the drop folder holds the roster files only
mkdirSync(dir);
try {
  await writeFiles(dir);
  const fileMb = mb(statSync(join(dir, 'students.csv')).size);
  const db = await freshDatabase(args.database, root, 'rostersync_csvbench');
  const store = await Store.open({ location: db.location });
  try {
    let rowsRead = 0;
    const samples: Array<{ rss: number; heap: number; rows: number }> = [];
    const sample = () => {
      const m = process.memoryUsage();
      samples.push({ rss: m.rss, heap: m.heapUsed, rows: rowsRead });
    };
    sample();
    const rssAtStart = samples[0]!.rss;
    const timer = setInterval(sample, 200);
    const t = performance.now();
    const report = await importCsv({
      store,
      dir,
      district: 'bench',
      logger: silentLogger(),
      onProgress: (p) => {
        if (p.stream === 'students.csv') rowsRead = p.records;
      },
    });
    const seconds = (performance.now() - t) / 1000;
    clearInterval(timer);
    sample();
    if (report.status !== 'succeeded') throw new Error(`import ${report.status}: ${report.reason ?? ''}`);
    if (report.counts.students.created !== rows)
      throw new Error(`expected ${rows} students, got ${report.counts.students.created}`);
    const points = spread(samples, 10);
    process.stdout.write(
      JSON.stringify({
        rows,
        seconds: Math.round(seconds * 100) / 100,
        rowsPerSecond: Math.round(rows / seconds),
        peakRssMb: mb(Math.max(...samples.map((s) => s.rss))),
        rssAtStartMb: mb(rssAtStart),
        rssSamplesMb: points.map((s) => mb(s.rss)),
        rowsAtSamples: points.map((s) => s.rows),
        heapUsedSamplesMb: points.map((s) => mb(s.heap)),
        fileMb,
        database: isPostgresUrl(db.location) ? 'postgres' : 'sqlite',
      }) + '\n',
    );
  } finally {
    await store.close();
    await db.drop();
  }
} finally {
  rmSync(root, { recursive: true, force: true });
}
