import { expect, it } from 'vitest';
import type { Store } from '../../src/store/store.js';
import { createRun, counts, withFreshStore } from './fixtures.js';
import { describeEachDatabase } from '../helpers/databases.js';

describeEachDatabase('store: runs, checkpoints and locks', (dbs) => {
  let store!: Store;
  withFreshStore(dbs, (opened) => (store = opened));

  it('stores runs with counts, problems and pending archives', async () => {
    const run = await createRun(store, 'run-a');
    expect(run.status).toBe('running');
    await store.runs.addProblems('run-a', [
      { severity: 'error', entity: 'students', recordId: 'abc', field: 'grade', reason: 'not a grade: "14"' },
      {
        severity: 'warning',
        entity: 'students.csv',
        recordId: 'line 3',
        field: 'favourite_color',
        reason: 'unknown column',
      },
    ]);
    await store.runs.addPendingArchives('run-a', 'students', ['x1', 'x2', 'x2'], 'clever');
    expect(await store.runs.pendingArchiveCounts('run-a')).toEqual({ students: 2 });
    const c = counts();
    c.entities.students.created = 5;
    await store.runs.finish('run-a', 'held', {
      counts: c,
      stats: { requests: 3, retries: 1, pages: 2, timings: {} },
      reason: 'too many',
    });
    const got = await store.runs.get('run-a');
    expect(got).toMatchObject({ status: 'held', reason: 'too many', problemCount: 2 });
    expect(got?.counts.entities.students.created).toBe(5);
    expect(await store.runs.problems('run-a')).toHaveLength(2);
    expect((await store.runs.list({ district: 'd1' }))[0]?.id).toBe('run-a');
  });

  it('finds and removes pending archives of one run, entity and source only', async () => {
    await createRun(store, 'run-arch1');
    await store.runs.addPendingArchives('run-arch1', 'students', ['p1', 'p2', 'p3'], 'clever');
    await store.runs.addPendingArchives('run-arch1', 'students', ['p1', 'p2'], 'csv');
    await store.runs.addPendingArchives('run-arch1', 'staff', ['p1'], 'clever');
    await createRun(store, 'run-arch2');
    await store.runs.addPendingArchives('run-arch2', 'students', ['p1'], 'clever');

    const among = await store.runs.pendingArchivesAmong(
      'run-arch1',
      'students',
      ['p1', 'p3', 'p9'],
      'clever',
    );
    expect(among.sort()).toEqual(['p1', 'p3']);

    await store.runs.removePendingArchives('run-arch1', 'students', ['p1', 'p9'], 'clever');
    const left = (run: string, entity: 'students' | 'staff', source: 'clever' | 'csv') =>
      store.runs.pendingArchives(run, entity, source, null, 10);
    expect(await left('run-arch1', 'students', 'clever')).toEqual(['p2', 'p3']);
    expect(await left('run-arch1', 'students', 'csv')).toEqual(['p1', 'p2']);
    expect(await left('run-arch1', 'staff', 'clever')).toEqual(['p1']);
    expect(await left('run-arch2', 'students', 'clever')).toEqual(['p1']);
  });

  it('numbers the problems of concurrent transactions of one run without collisions', async () => {
    await createRun(store, 'run-p');
    const problem = (recordId: string) => ({
      severity: 'warning' as const,
      entity: 'students',
      recordId,
      field: null,
      reason: 'test',
    });
    // Two batches of two streams, their transactions open at the same time (PostgreSQL runs them on
    // two connections; SQLite one after the other).
    let firstWrote!: () => void;
    const wrote = new Promise<void>((resolve) => (firstWrote = resolve));
    await Promise.all([
      store.transaction(async (tx) => {
        await tx.runs.addProblems('run-p', [problem('a1'), problem('a2')]);
        firstWrote();
        await new Promise((r) => setTimeout(r, 100));
      }),
      (async () => {
        await wrote;
        await store.transaction((tx) => tx.runs.addProblems('run-p', [problem('b1')]));
      })(),
    ]);
    expect((await store.runs.get('run-p'))?.problemCount).toBe(3);
    expect((await store.runs.problems('run-p')).map((p) => p.recordId)).toEqual(['a1', 'a2', 'b1']);
  });

  it('saves checkpoints and takes, refuses and takes over district locks', async () => {
    await store.checkpoints.save({
      district: 'd1',
      source: 'clever',
      stream: 'users',
      runId: 'r',
      cursor: 'abc',
      pages: 3,
      records: 300,
      complete: false,
    });
    await store.checkpoints.save({
      district: 'd1',
      source: 'clever',
      stream: 'users',
      runId: 'r',
      cursor: 'abd',
      pages: 4,
      records: 400,
      complete: true,
    });
    expect(await store.checkpoints.list('d1')).toMatchObject([
      { stream: 'users', cursor: 'abd', pages: 4, complete: true },
    ]);

    expect(await store.locks.acquire('d1', 'run-1', 'host:1', 60_000)).toBe(true);
    expect(await store.locks.acquire('d1', 'run-2', 'host:2', 60_000)).toBe(false);
    // A lock not refreshed for longer than the stale limit belongs to a dead process.
    expect(await store.locks.acquire('d1', 'run-2', 'host:2', -1)).toBe(true);
    await store.locks.release('d1', 'run-2');
    expect(await store.locks.holder('d1')).toBeUndefined();
  });
});
