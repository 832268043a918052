import { describe, expect, it } from 'vitest';
import { deriveAccount } from '../../src/accounts/derive.js';
import { ACCOUNT_FIELDS } from '../../src/model/account-fields.js';
import type { AccountEntity } from '../../src/model/account-fields.js';
import { districtConfigSchema } from '../../src/model/district-config.js';
import { canonicalJson } from '../../src/model/hash.js';
import { indexValues, linkRows } from '../../src/store/encoding/record-index.js';
import { lineValues } from '../../src/store/encoding/row-text.js';
import {
  hasLines,
  preparedIndexValues,
  preparedJson,
  preparedLinkLines,
  preparedLinks,
  preparedRowLines,
} from '../../src/store/encoding/prepared-row.js';
import type { CleverSimulator } from '../../src/simulator/index.js';
import { CleverSource } from '../../src/sources/clever/clever-source.js';
import type { PageOptions, SourceRecord } from '../../src/sources/source.js';
import { withSimulator } from '../helpers/sync.js';

/**
 * A decoded Clever record carries what writing it takes (its JSON as bytes, its indexed values and
 * link rows) so the sync need not parse it again; all of it must be exactly what the record's own
 * fields give. Walked over HTTP from the simulator, with pages decoded in the worker and on the
 * main thread. So must the account fields students and staff carry: the same account derives from
 * them as from the whole record, under every matching key.
 */
describe('Clever source records carry what a write needs', () => {
  let sim!: CleverSimulator;
  withSimulator({ seed: 29, students: 600 }, (started) => (sim = started));

  /** Walks every record of every stream, in pages of `pageSize` read as `opts` asks. */
  async function eachRecord(
    pageSize: number,
    opts: PageOptions,
    fn: (rec: SourceRecord) => void,
    decodeInWorker = true,
  ): Promise<void> {
    const source = new CleverSource({
      baseUrl: sim.url,
      token: sim.token,
      apiVersion: 'v3.0',
      pageSize,
      decodeInWorker,
    });
    try {
      for (const stream of source.streams())
        for await (const page of stream.pages(opts)) for (const rec of page.records) fn(rec);
    } finally {
      await source.close();
    }
  }

  for (const decodeInWorker of [true, false]) {
    it(`equal to what the record's fields give (decoded ${decodeInWorker ? 'in the worker' : 'on the main thread'})`, async () => {
      const seen = new Map<string, number>();
      let links = 0;
      let nulls = 0;
      let accountRecords = 0;
      const configs = [
        districtConfigSchema.parse({}),
        districtConfigSchema.parse({
          studentKey: 'state_id',
          staffKey: 'teacher_number',
          contractedGrades: ['05'],
        }),
        districtConfigSchema.parse({
          studentKey: 'student_number',
          staffKey: 'sis_id',
          access: { allTeachersCaseload: true, sourceControlsAccess: true },
        }),
      ];
      await eachRecord(
        150,
        { forWriting: true },
        (rec) => {
          const data = JSON.parse(rec.json!) as typeof rec.data;
          expect(rec.json).toBe(canonicalJson(rec.data));
          expect(preparedJson(rec.prepared!).toString('utf8')).toBe(rec.json);
          expect(preparedIndexValues(rec.prepared!, rec.entity)).toEqual(indexValues(rec.entity, data));
          // Contacts carry their links; sections' are read from their data (see packsLinks).
          if (rec.entity === 'contacts')
            expect(preparedLinks(rec.prepared!, rec.entity)).toEqual(linkRows(rec.entity, data));
          else expect(preparedLinks(rec.prepared!, rec.entity)).toBeUndefined();
          if (rec.entity === 'students' || rec.entity === 'staff') {
            const entity: AccountEntity = rec.entity;
            const fields = ACCOUNT_FIELDS[entity] as readonly string[];
            const whole = data as unknown as Record<string, unknown>;
            expect(rec.accountData).toEqual(
              Object.fromEntries(fields.filter((k) => whole[k] !== undefined).map((k) => [k, whole[k]])),
            );
            for (const config of configs) {
              expect(deriveAccount(entity, rec.sourceId, 'clever', rec.accountData!, config)).toEqual(
                deriveAccount(entity, rec.sourceId, 'clever', data as never, config),
              );
            }
            accountRecords++;
          } else expect(rec.accountData).toBeUndefined();
          seen.set(rec.entity, (seen.get(rec.entity) ?? 0) + 1);
          links += preparedLinks(rec.prepared!, rec.entity)?.length ?? 0;
          nulls += preparedIndexValues(rec.prepared!, rec.entity)!.filter((v) => v === null).length;
        },
        decodeInWorker,
      );
      const truth = sim.truth();
      expect(Object.fromEntries(seen)).toEqual({
        schools: truth.schools,
        terms: truth.terms,
        courses: truth.courses,
        students: truth.students,
        staff: truth.staffPeople,
        contacts: truth.contacts,
        sections: truth.sections,
      });
      // A link per contact at least, and some empty identifiers.
      expect(links).toBeGreaterThanOrEqual(truth.contacts);
      expect(nulls).toBeGreaterThan(0);
      expect(accountRecords).toBe(truth.students + truth.staffPeople);
    });
  }

  it('does not prepare records for writing unless asked (a nightly sync writes few)', async () => {
    let records = 0;
    await eachRecord(400, {}, (rec) => {
      expect(preparedIndexValues(rec.prepared!, rec.entity)).toBeUndefined();
      expect(preparedLinks(rec.prepared!, rec.entity)).toBeUndefined();
      expect(rec.accountData).toBeUndefined();
      expect(hasLines(rec.prepared!)).toBe(false);
      // The JSON bytes cost nothing extra: they are what the page already holds.
      expect(preparedJson(rec.prepared!).toString('utf8')).toBe(rec.json);
      records++;
    });
    expect(records).toBeGreaterThan(sim.truth().students);
  });

  it('encodes rows as COPY text when the store loads that, with the same values as the fields give', async () => {
    let links = 0;
    let records = 0;
    await eachRecord(250, { forWriting: true, rowText: true }, (rec) => {
      const data = JSON.parse(rec.json!) as typeof rec.data;
      // Lines instead of cells: the indexed values and links are only in the lines.
      expect(preparedIndexValues(rec.prepared!, rec.entity)).toBeUndefined();
      expect(preparedLinks(rec.prepared!, rec.entity)).toBeUndefined();
      // The raw item hash and the scope: users and sections have them, schools, terms, courses not.
      const rawKept = rec.entity !== 'schools' && rec.entity !== 'terms' && rec.entity !== 'courses';
      expect(rec.fingerprint === undefined).toBe(!rawKept);
      expect(lineValues(preparedRowLines([rec.prepared!])[0]!)).toEqual([
        [
          rec.sourceId,
          rec.hash,
          rec.json,
          rec.fingerprint?.raw ?? null,
          rec.fingerprint?.scope ?? null,
          ...indexValues(rec.entity, data),
        ],
      ]);
      const expected = linkRows(rec.entity, data).map((l) => [rec.sourceId, ...l]);
      expect(preparedLinkLines([rec.prepared!]).flatMap(lineValues)).toEqual(expected);
      links += expected.length;
      records++;
    });
    const truth = sim.truth();
    expect(records).toBe(
      truth.schools +
        truth.terms +
        truth.courses +
        truth.students +
        truth.staffPeople +
        truth.contacts +
        truth.sections,
    );
    expect(links).toBeGreaterThan(truth.contacts + truth.sections);
  });

  for (const decodeInWorker of [true, false]) {
    it(`fails at once, not retried as Clever's fault, when reading stored states fails (decoded ${decodeInWorker ? 'in the worker' : 'on the main thread'})`, async () => {
      const source = new CleverSource({
        baseUrl: sim.url,
        token: sim.token,
        apiVersion: 'v3.0',
        pageSize: 200,
        decodeInWorker,
        retryBaseMs: 1,
      });
      try {
        const students = source.streams().find((s) => s.name === 'users:student')!;
        const walk = async () => {
          for await (const page of students.pages({
            known: () => Promise.reject(new Error('the database went away')),
          }))
            void page;
        };
        await expect(walk()).rejects.toThrow('the database went away');
        expect(source.stats().retries).toBe(0);
      } finally {
        await source.close();
      }
    });
  }
});
