/** Shared builders of the store tests (test/store/*.test.ts). */
import { contentHash } from '../../src/model/hash.js';
import type { Student } from '../../src/model/entities.js';
import { emptyAccountCounts, emptyEntityCounts } from '../../src/model/run.js';
import type { RunCounts } from '../../src/model/run.js';
import { afterAll, beforeAll } from 'vitest';
import { Store } from '../../src/store/store.js';
import type { TestDatabases } from '../helpers/databases.js';
import type { RecordWrite } from '../../src/store/queries/records.js';

export const scope = { district: 'd1', source: 'clever' as const };

export function student(i: number, overrides: Partial<Student> = {}): RecordWrite<'students'> {
  const data: Student = {
    name: { first: `First${i}`, last: `Last${i}` },
    schoolId: `school${i % 7}`,
    schoolIds: [`school${i % 7}`],
    grade: '05',
    sisId: `S${i}`,
    ...overrides,
  };
  return { sourceId: `id${String(i).padStart(8, '0')}`, data, hash: contentHash(data) };
}

export function counts(): RunCounts {
  return {
    entities: {
      schools: emptyEntityCounts(),
      terms: emptyEntityCounts(),
      courses: emptyEntityCounts(),
      sections: emptyEntityCounts(),
      students: emptyEntityCounts(),
      staff: emptyEntityCounts(),
      contacts: emptyEntityCounts(),
    },
    accounts: emptyAccountCounts(),
  };
}

/** An `accounts` row in the columns of migration 0002's time (tests of later migrations add theirs). */
export function oldAccountRow(id: string, columns: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id,
    district_id: 'mig-d1',
    kind: 'student',
    status: 'active',
    origin: 'sync',
    record_source: 'clever',
    record_source_id: `rec-${id}`,
    name: JSON.stringify({ last: 'Old' }),
    email: null,
    roles: '',
    access: null,
    created_at: '2026-01-01T00:00:00.000Z',
    updated_at: '2026-01-01T00:00:00.000Z',
    deactivated_at: null,
    title: null,
    state_hash: null,
    record_hash: null,
    derive_version: null,
    synced_hash: null,
    ...columns,
  };
}

/** A running Clever sync of district d1 with empty counts. */
export function createRun(store: Store, id: string) {
  return store.runs.create({
    id,
    district: 'd1',
    source: 'clever',
    mode: 'sync',
    counts: counts(),
    stats: { requests: 0, retries: 0, pages: 0, timings: {} },
  });
}

/**
 * Opens a store on a fresh database of the suite's kind before its tests, hands it to `use`, and
 * closes it after them.
 */
export function withFreshStore(dbs: TestDatabases, use: (store: Store) => void): void {
  let opened: Store | undefined;
  beforeAll(async () => {
    opened = await Store.open({ location: await dbs.fresh() });
    use(opened);
  });
  afterAll(async () => {
    await opened?.close();
  });
}
