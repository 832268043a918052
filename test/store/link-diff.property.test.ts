import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { contentHash } from '../../src/model/hash.js';
import type { EntityData } from '../../src/model/entities.js';
import { diffLinks } from '../../src/store/queries/link-diff.js';
import type { LinkedEntity } from '../../src/store/queries/links.js';
import type { RecordScope, RecordWrite } from '../../src/store/queries/records.js';
import type { Store } from '../../src/store/store.js';
import { describeEachDatabase } from '../helpers/databases.js';
import { withFreshStore } from './fixtures.js';

/**
 * Link rows written by their difference (LinksRepo.replace, the fast path) against deleting and
 * re-inserting them all (LinksRepo.rewrite, the reference path): after any sequence of writes, the
 * two leave the same rows. One district of a database takes each path.
 */

const ids = (prefix: string, n: number) => fc.subarray(Array.from({ length: n }, (_, i) => `${prefix}${i}`));
const section: fc.Arbitrary<EntityData['sections']> = fc.record({
  schoolId: fc.constant('sch'),
  name: fc.constant('Math'),
  teacherIds: ids('t', 3),
  studentIds: fc.array(fc.constantFrom('s0', 's1', 's2', 's3', 's4', 's5'), { maxLength: 8 }),
});
const contact: fc.Arbitrary<EntityData['contacts']> = fc.record({
  name: fc.constant({ first: 'A', last: 'B' }),
  relationships: fc.array(
    fc.record({
      studentId: fc.constantFrom('s0', 's1', 's2', 's3'),
      relationship: fc.option(fc.constantFrom('Parent', 'Aunt', 'Grandparent'), { nil: undefined }),
      type: fc.option(fc.constantFrom('family', 'guardian'), { nil: undefined }),
    }),
    { maxLength: 5 },
  ),
});

/** A step: records of a few ids, each written (the first time as new) or archived. */
const steps = <E extends LinkedEntity>(data: fc.Arbitrary<EntityData[E]>) =>
  fc.array(
    fc.array(
      fc.record({ id: fc.constantFrom('r0', 'r1', 'r2', 'r3'), data: fc.option(data, { nil: null }) }),
      { maxLength: 4 },
    ),
    { minLength: 1, maxLength: 6 },
  );

describeEachDatabase('store: link rows by their difference', (dbs) => {
  let store!: Store;
  withFreshStore(dbs, (opened) => (store = opened));

  let round = 0;
  async function check<E extends LinkedEntity>(
    entity: E,
    script: Array<Array<{ id: string; data: EntityData[E] | null }>>,
  ): Promise<void> {
    round++;
    const fast: RecordScope = { district: `fast-${round}`, source: 'clever' };
    const plain: RecordScope = { district: `plain-${round}`, source: 'clever' };
    const stored = new Set<string>();
    for (const step of script) {
      // The last entry of an id in a step counts, as a batch holds a record once.
      const last = new Map(step.map((s) => [s.id, s.data]));
      const writes: RecordWrite[] = [];
      const archived: string[] = [];
      for (const [id, data] of last) {
        if (data === null) archived.push(id);
        else writes.push({ sourceId: id, data, hash: contentHash(data), isNew: !stored.has(id) });
      }
      await store.transaction(async (tx) => {
        await tx.links.replace(fast, entity, writes);
        await tx.links.rewrite(plain, entity, writes);
        await tx.links.delete(entity, fast, archived);
        await tx.links.delete(entity, plain, archived);
      });
      for (const w of writes) stored.add(w.sourceId);
      for (const id of archived) stored.delete(id);
      const all = ['r0', 'r1', 'r2', 'r3'];
      const sorted = (m: Map<string, Array<Array<string | null>>>) =>
        all.map((id) => (m.get(id) ?? []).map((r) => JSON.stringify(r)).sort());
      expect(sorted(await store.links.read(entity, fast, all))).toEqual(
        sorted(await store.links.read(entity, plain, all)),
      );
    }
  }

  it('sections: the same members as a rewrite after every step', async () => {
    await fc.assert(
      fc.asyncProperty(steps<'sections'>(section), (script) => check('sections', script)),
      { numRuns: 40 },
    );
  });

  it('contacts: the same links as a rewrite, a changed relationship or type included', async () => {
    await fc.assert(
      fc.asyncProperty(steps<'contacts'>(contact), (script) => check('contacts', script)),
      { numRuns: 40 },
    );
  });
});

describe('diffLinks', () => {
  it('writes nothing for links that did not change, in any order', () => {
    const stored = new Map([
      [
        'sec',
        [
          ['teacher', 't1'],
          ['student', 's1'],
          ['student', 's2'],
        ],
      ],
    ]);
    const now = [
      ['student', 's2'],
      ['teacher', 't1'],
      ['student', 's1'],
    ];
    expect(diffLinks([{ id: 'sec', links: now }], stored, 2)).toEqual({ remove: [], add: [] });
  });

  it('deletes by key and inserts the new values of a link whose other values changed', () => {
    const stored = new Map([
      [
        'c',
        [
          ['s1', 'Parent', 'family'],
          ['s2', null, null],
        ],
      ],
    ]);
    const now = [
      ['s1', 'Aunt', 'family'],
      ['s2', null, null],
      ['s3', null, 'guardian'],
    ];
    expect(diffLinks([{ id: 'c', links: now }], stored, 1)).toEqual({
      remove: [['c', 's1']],
      add: [
        ['c', 's1', 'Aunt', 'family'],
        ['c', 's3', null, 'guardian'],
      ],
    });
  });

  it('leaves a key stored twice once', () => {
    const stored = new Map([
      [
        'sec',
        [
          ['student', 's1'],
          ['student', 's1'],
          ['student', 's2'],
        ],
      ],
    ]);
    const now = [['student', 's1']];
    expect(diffLinks([{ id: 'sec', links: now }], stored, 2)).toEqual({
      remove: [
        ['sec', 'student', 's1'],
        ['sec', 'student', 's2'],
      ],
      add: [['sec', 'student', 's1']],
    });
  });
});
