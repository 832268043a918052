import type { ExpressionBuilder, Kysely } from 'kysely';
import type { Entity, SourceKind } from '../../model/entities.js';
import type {
  RunCounts,
  RunMode,
  RunProblem,
  RunStats,
  RunStatus,
  SyncKind,
  SyncRun,
} from '../../model/run.js';
import type { DialectQueries } from '../dialect/dialect.js';
import type { DB, DbSyncRun } from '../schema.js';

/**
 * Problems kept per run. A run with a systematically broken source could otherwise write millions
 * of rows of problems; past this many only the count grows (the report says how many were dropped).
 */
export const MAX_STORED_PROBLEMS = 10_000;

function toRun(row: DbSyncRun): SyncRun {
  return {
    id: row.id,
    district: row.district_id,
    source: row.source,
    mode: row.mode as RunMode,
    status: row.status as RunStatus,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    heartbeatAt: row.heartbeat_at,
    reason: row.reason,
    counts: JSON.parse(row.counts) as RunCounts,
    stats: JSON.parse(row.stats) as RunStats,
    problemCount: Number(row.problem_count),
    resolution: row.resolution as SyncRun['resolution'],
    resolvedAt: row.resolved_at,
    kind: row.sync_kind ? { kind: row.sync_kind as SyncKind, reason: row.sync_kind_reason ?? '' } : null,
  };
}

export class RunsRepo {
  constructor(
    private readonly db: Kysely<DB>,
    private readonly q: DialectQueries,
    private readonly now: () => string,
  ) {}

  async create(run: {
    id: string;
    district: string;
    source: string;
    mode: RunMode;
    counts: RunCounts;
    stats: RunStats;
    /** Which kind of sync this is and why (see sync/sync-kind.ts); absent for CSV imports. */
    kind?: { kind: SyncKind; reason: string } | undefined;
  }): Promise<SyncRun> {
    const now = this.now();
    const row: DbSyncRun = {
      id: run.id,
      district_id: run.district,
      source: run.source,
      mode: run.mode,
      status: 'running',
      started_at: now,
      finished_at: null,
      heartbeat_at: now,
      reason: null,
      counts: JSON.stringify(run.counts),
      stats: JSON.stringify(run.stats),
      problem_count: 0,
      resolution: null,
      resolved_at: null,
      sync_kind: run.kind?.kind ?? null,
      sync_kind_reason: run.kind?.reason ?? null,
    };
    await this.db.insertInto('sync_runs').values(row).execute();
    return toRun(row);
  }

  /** Saves progress (counts, stats) and refreshes the heartbeat. */
  async progress(id: string, counts: RunCounts, stats: RunStats): Promise<void> {
    await this.db
      .updateTable('sync_runs')
      .set({ counts: JSON.stringify(counts), stats: JSON.stringify(stats), heartbeat_at: this.now() })
      .where('id', '=', id)
      .execute();
  }

  /** Saves counts only (stats untouched). */
  async progressCounts(id: string, counts: RunCounts): Promise<void> {
    await this.db
      .updateTable('sync_runs')
      .set({ counts: JSON.stringify(counts), heartbeat_at: this.now() })
      .where('id', '=', id)
      .execute();
  }

  async finish(
    id: string,
    status: RunStatus,
    fields: { counts: RunCounts; stats: RunStats; reason?: string | null },
  ): Promise<void> {
    const now = this.now();
    await this.db
      .updateTable('sync_runs')
      .set({
        status,
        finished_at: now,
        heartbeat_at: now,
        reason: fields.reason ?? null,
        counts: JSON.stringify(fields.counts),
        stats: JSON.stringify(fields.stats),
      })
      .where('id', '=', id)
      .execute();
  }

  async resolve(
    id: string,
    status: RunStatus,
    resolution: 'approved' | 'rejected',
    counts: RunCounts,
  ): Promise<void> {
    await this.db
      .updateTable('sync_runs')
      .set({ status, resolution, resolved_at: this.now(), counts: JSON.stringify(counts) })
      .where('id', '=', id)
      .execute();
  }

  /** Marks runs of a district that are still `running` as failed (their process is gone). */
  async failInterrupted(district: string, exceptRunId: string, reason: string): Promise<string[]> {
    const rows = await this.db
      .selectFrom('sync_runs')
      .select('id')
      .where('district_id', '=', district)
      .where('status', '=', 'running')
      .where('id', '<>', exceptRunId)
      .execute();
    if (rows.length === 0) return [];
    const ids = rows.map((r) => r.id);
    const now = this.now();
    await this.db
      .updateTable('sync_runs')
      .set({ status: 'failed', reason, finished_at: now })
      .where('id', 'in', ids)
      .execute();
    return ids;
  }

  async get(id: string): Promise<SyncRun | undefined> {
    const row = await this.db.selectFrom('sync_runs').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toRun(row) : undefined;
  }

  /**
   * Most recent runs first; `before` (a run's start time and id) continues a list after that run.
   * `limit` defaults to 10.
   */
  async list(
    opts: {
      district?: string;
      limit?: number;
      mode?: RunMode;
      /** Any of these modes (with `mode`, both hold). */
      modes?: readonly RunMode[];
      status?: RunStatus;
      before?: { startedAt: string; id: string };
    } = {},
  ): Promise<SyncRun[]> {
    let q = this.db.selectFrom('sync_runs').selectAll();
    if (opts.district) q = q.where('district_id', '=', opts.district);
    if (opts.mode) q = q.where('mode', '=', opts.mode);
    if (opts.modes) q = q.where('mode', 'in', [...opts.modes]);
    if (opts.status) q = q.where('status', '=', opts.status);
    const before = opts.before;
    if (before)
      q = q.where((eb) => eb(eb.refTuple('started_at', 'id'), '<', eb.tuple(before.startedAt, before.id)));
    const rows = await q
      .orderBy('started_at', 'desc')
      .orderBy('id', 'desc')
      .limit(opts.limit ?? 10)
      .execute();
    return rows.map(toRun);
  }

  /** Appends problems (capped at MAX_STORED_PROBLEMS stored per run; the count always grows). */
  async addProblems(runId: string, problems: readonly RunProblem[]): Promise<void> {
    if (problems.length === 0) return;
    // Take the numbers first, atomically: batches of concurrent streams add problems to the same run
    // in concurrent transactions, and a read-then-write would hand two of them the same numbers.
    // The row lock this takes is held to the end of the transaction, so numbering is serial.
    const row = await this.db
      .updateTable('sync_runs')
      .set((eb) => ({ problem_count: eb('problem_count', '+', problems.length) }))
      .where('id', '=', runId)
      .returning('problem_count')
      .executeTakeFirstOrThrow();
    const start = Number(row.problem_count) - problems.length;
    const room = Math.max(0, MAX_STORED_PROBLEMS - start);
    const stored = problems.slice(0, room).map((p, i) => ({
      run_id: runId,
      seq: start + i + 1,
      severity: p.severity,
      entity: p.entity,
      record_id: p.recordId,
      field: p.field,
      reason: p.reason,
    }));
    const size = Math.floor(this.q.maxBindParameters / 7);
    for (let i = 0; i < stored.length; i += size) {
      await this.db
        .insertInto('run_problems')
        .values(stored.slice(i, i + size))
        .execute();
    }
  }

  /** The run's stored problems in order; `afterSeq` continues after that many (for paging). */
  async problems(runId: string, limit = 1000, afterSeq = 0): Promise<RunProblem[]> {
    const rows = await this.db
      .selectFrom('run_problems')
      .selectAll()
      .where('run_id', '=', runId)
      .where('seq', '>', afterSeq)
      .orderBy('seq')
      .limit(limit)
      .execute();
    return rows.map((r) => ({
      severity: r.severity as RunProblem['severity'],
      entity: r.entity,
      recordId: r.record_id,
      field: r.field,
      reason: r.reason,
    }));
  }

  /** Records that a run would archive once it is allowed to (see the safety valve). */
  async addPendingArchives(
    runId: string,
    entity: Entity,
    sourceIds: readonly string[],
    source: SourceKind,
  ): Promise<void> {
    await this.q.bulk.write(
      {
        table: 'run_pending_archives',
        columns: ['run_id', 'entity', 'source', 'source_id'],
        conflict: { target: ['run_id', 'entity', 'source', 'source_id'], update: [] },
      },
      sourceIds.map((id) => [runId, entity, source, id]),
    );
  }

  /** Pending archives per entity (all sources). */
  async pendingArchiveCounts(runId: string): Promise<Partial<Record<Entity, number>>> {
    const rows = await this.db
      .selectFrom('run_pending_archives')
      .select(['entity', (eb) => eb.fn.countAll<number>().as('n')])
      .where('run_id', '=', runId)
      .groupBy('entity')
      .execute();
    const out: Partial<Record<Entity, number>> = {};
    for (const r of rows) out[r.entity as Entity] = Number(r.n);
    return out;
  }

  /** The sources a run has pending archives of, for one entity. */
  async pendingArchiveSources(runId: string, entity: Entity): Promise<SourceKind[]> {
    const rows = await this.db
      .selectFrom('run_pending_archives')
      .select('source')
      .distinct()
      .where('run_id', '=', runId)
      .where('entity', '=', entity)
      .execute();
    return rows.map((r) => r.source as SourceKind).sort();
  }

  /** Pending archive ids of one entity and source, ascending, paged by cursor. */
  async pendingArchives(
    runId: string,
    entity: Entity,
    source: SourceKind,
    after: string | null,
    limit: number,
  ): Promise<string[]> {
    let q = this.db
      .selectFrom('run_pending_archives')
      .select('source_id')
      .where('run_id', '=', runId)
      .where('entity', '=', entity)
      .where('source', '=', source);
    if (after !== null) q = q.where('source_id', '>', after);
    const rows = await q.orderBy('source_id').limit(limit).execute();
    return rows.map((r) => r.source_id);
  }

  /** Which of `sourceIds` (of `source`) the run has marked for archiving. */
  async pendingArchivesAmong(
    runId: string,
    entity: Entity,
    sourceIds: readonly string[],
    source: SourceKind,
  ): Promise<string[]> {
    const out: string[] = [];
    const size = this.q.maxBindParameters - 4;
    for (let i = 0; i < sourceIds.length; i += size) {
      const rows = await this.db
        .selectFrom('run_pending_archives')
        .select('source_id')
        .where(this.pendingAmong(runId, entity, source, sourceIds.slice(i, i + size)))
        .execute();
      for (const r of rows) out.push(r.source_id);
    }
    return out;
  }

  /** Takes records off a run's pending archives (they turned out to be present after all). */
  async removePendingArchives(
    runId: string,
    entity: Entity,
    sourceIds: readonly string[],
    source: SourceKind,
  ): Promise<void> {
    const size = this.q.maxBindParameters - 4;
    for (let i = 0; i < sourceIds.length; i += size) {
      await this.db
        .deleteFrom('run_pending_archives')
        .where(this.pendingAmong(runId, entity, source, sourceIds.slice(i, i + size)))
        .execute();
    }
  }

  /** The filter of a run's pending archives of one entity and source whose id is one of `sourceIds`. */
  private pendingAmong(runId: string, entity: Entity, source: SourceKind, sourceIds: readonly string[]) {
    return (eb: ExpressionBuilder<DB, 'run_pending_archives'>) =>
      eb.and([
        eb('run_id', '=', runId),
        eb('entity', '=', entity),
        eb('source', '=', source),
        this.q.anyOf(eb, 'source_id', sourceIds),
      ]);
  }

  /**
   * Hands the pending archives of run `from` to run `to` (an events sync that took over a stopped
   * one: the cursor has moved past the deletes they came from, so they are not read again).
   */
  async movePendingArchives(from: string, to: string): Promise<void> {
    await this.db
      .insertInto('run_pending_archives')
      .columns(['run_id', 'entity', 'source', 'source_id'])
      .expression((eb) =>
        eb
          .selectFrom('run_pending_archives')
          .select((s) => [s.val(to).as('run_id'), 'entity', 'source', 'source_id'])
          .where('run_id', '=', from),
      )
      .onConflict((oc) => oc.doNothing())
      .execute();
    await this.clearPendingArchives(from);
  }

  async clearPendingArchives(runId: string): Promise<void> {
    await this.db.deleteFrom('run_pending_archives').where('run_id', '=', runId).execute();
  }
}
