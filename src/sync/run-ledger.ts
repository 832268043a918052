import type { ProvisionResult } from '../accounts/provision-batch.js';
import type { AccountKind } from '../model/account.js';
import type { Entity, SourceKind } from '../model/entities.js';
import type { RunProblem } from '../model/run.js';
import type { StoredState } from '../model/hash.js';
import type { PendingRekey } from '../store/queries/pending-rekeys.js';
import type { RawRefresh } from '../store/queries/raw-fingerprints.js';
import type { RecordScope } from '../store/queries/records.js';
import type { Store } from '../store/store.js';
import type { BatchCommit } from './apply-batch.js';
import { applyRunRemovals } from './finalise-run.js';
import type { NormalizedRecord } from './reconcile.js';
import type { RunContext } from './run-context.js';

/** How often batches save the run's progress and the lock's heartbeat. */
const PROGRESS_EVERY_MS = 2000;

/**
 * What a run keeps of what it does. A sync keeps everything (WritingLedger); a plan computes the same
 * report and keeps nothing (RecordingLedger): each batch's transaction runs as in a sync, so the
 * plan counts exactly what a sync would do, and is rolled back; what a sync would leave in the
 * store for later batches and for the end of the run (archive candidates, deactivations, take-overs)
 * the recording ledger keeps in memory instead.
 */
export interface RunLedger {
  /**
   * Whether the run is kept. A plan is not: it creates no district, takes no lock and stores no run
   * (see run-sync.ts), and its pages do not overlap (see PagePipeline.overlapDepth).
   */
  readonly keeps: boolean;
  /** Stamped on the records and accounts a batch writes: the run's id, or null in a plan. */
  readonly runId: string | null;
  /** Stores the run as running (under the district lock). */
  open(): Promise<void>;
  /** Runs one batch's transaction: committed, or rolled back once `fn` has returned. */
  transaction(fn: (tx: Store) => Promise<void>): Promise<void>;
  /** Writes the batch's records (and the raw hashes of unchanged ones). */
  writeRecords(
    tx: Store,
    scope: RecordScope,
    entity: Entity,
    writes: NormalizedRecord[],
    rawRefresh: readonly RawRefresh[],
  ): Promise<void>;
  /** Problems found outside any batch (see RunStep.addProblems). */
  addProblems(problems: readonly RunProblem[]): Promise<void>;
  /** Inside the batch's transaction, once it is provisioned: what the run keeps of the batch. */
  keepBatch(tx: Store, b: BatchCommit, prov: ProvisionResult): Promise<void>;
  /** After the batch's transaction: it committed, adding `created` new rows of `entity`. */
  committed(entity: Entity, created: number): void;
  /** Records of `entity` the batch created. */
  created(entity: Entity, records: readonly NormalizedRecord[]): void;
  /** The run holds pending archives of `entity` it did not mark itself (taken over, see takeOverInterrupted). */
  notePendingArchives(entity: Entity): void;
  /**
   * Of the students `ids` (with their stored state), those contacts may belong to: stored, active
   * and not set to be archived by this run, or created by it.
   */
  studentsInScope(ids: readonly string[], stored: Map<string, StoredState>): Promise<Set<string>>;
  /** Sets records of a lower source to be retired (archived); returns how many. */
  retire(source: SourceKind, entity: Entity, ids: readonly string[]): Promise<number>;
  /**
   * Of `ids` of `entity` (the run's source), those the run has found absent (to be archived); `tx`:
   * read inside that batch transaction.
   */
  absentAmong(entity: Entity, ids: readonly string[], tx?: Store): Promise<Set<string>>;
  /**
   * Re-keys found at the end of a stream (or in an events sync's batch, then written in its
   * transaction `tx`), applied once the run passes the valve (see sync/rekeys.ts).
   */
  addRekeys(items: readonly PendingRekey[], tx?: Store): Promise<void>;
  /** The re-keys the run would make, per account kind. */
  pendingRekeyCounts(): Promise<Record<string, number>>;
  /** What the run would archive, per entity. */
  pendingArchiveCounts(): Promise<Partial<Record<Entity, number>>>;
  /** Account deactivations the run would make, per account kind (archives + no longer eligible). */
  pendingDeactivationCounts(pending: Partial<Record<Entity, number>>): Promise<Record<string, number>>;
  /** The run passed the safety valve: archives and deactivations take effect (and are counted). */
  applyRemovals(pending: Partial<Record<Entity, number>>, deactivating: number): Promise<void>;
  /** The run ended as `status` (its counts and stats are final). */
  finish(status: 'succeeded' | 'held', reason: string | null): Promise<void>;
  /** The run failed; a failure to store that is ignored (the run is already failing). */
  fail(reason: string): Promise<void>;
}

/** A sync's ledger: everything is written, in the batch's transaction. */
export class WritingLedger implements RunLedger {
  readonly keeps = true;
  readonly runId: string;
  private created_ = false;
  /** When the run's progress (and the lock's heartbeat) was last saved. */
  private progressSavedAt = 0;
  /** Entities this run has marked records of absent (pending archive) while reading its streams. */
  private readonly pendingArchives = new Set<Entity>();

  constructor(private readonly run: RunContext) {
    this.runId = run.runId;
  }

  async open(): Promise<void> {
    const run = this.run;
    await run.store.runs.create({
      id: this.runId,
      district: run.district!,
      source: run.source.kind,
      mode: run.mode,
      counts: run.counts,
      stats: run.stats,
      kind: run.kind ?? undefined,
    });
    this.created_ = true;
  }

  transaction(fn: (tx: Store) => Promise<void>): Promise<void> {
    return this.run.store.transaction(fn);
  }

  async writeRecords(
    tx: Store,
    scope: RecordScope,
    entity: Entity,
    writes: NormalizedRecord[],
    rawRefresh: readonly RawRefresh[],
  ): Promise<void> {
    await tx.records.write(scope, entity, writes, this.runId);
    if (rawRefresh.length > 0) {
      await tx.rawFingerprints.refresh(scope, entity, rawRefresh);
      this.run.stats.rawRefreshed = (this.run.stats.rawRefreshed ?? 0) + rawRefresh.length;
    }
  }

  addProblems(problems: readonly RunProblem[]): Promise<void> {
    return this.run.store.runs.addProblems(this.runId, problems);
  }

  async keepBatch(tx: Store, b: BatchCommit): Promise<void> {
    const run = this.run;
    const kind = run.source.kind;
    // The run's shared rows (checkpoint, problems, progress) are written in page order.
    if (b.turn?.before) await b.turn.before;
    if (b.absent.length > 0) {
      this.pendingArchives.add(b.entity);
      await tx.runs.addPendingArchives(this.runId, b.entity, b.absent, kind);
    }
    if (b.present.length > 0) await tx.runs.removePendingArchives(this.runId, b.entity, b.present, kind);
    await tx.runs.addProblems(this.runId, b.problems);
    if (b.eventCursor !== undefined) await tx.eventCursors.advance(run.district!, b.eventCursor, this.runId);
    const cp = b.checkpoint;
    await tx.checkpoints.save({
      district: run.district!,
      source: kind,
      stream: b.stream.name,
      runId: this.runId,
      cursor: cp.cursor,
      pages: cp.pages,
      records: cp.records,
      complete: cp.complete,
    });
    // The run's progress and the lock's heartbeat are for watchers and for stale-lock detection
    // (minutes): a few seconds apart is plenty, and each is a round trip inside every batch.
    const now = Date.now();
    if (cp.complete || now - this.progressSavedAt >= PROGRESS_EVERY_MS) {
      this.progressSavedAt = now;
      await tx.runs.progress(this.runId, run.counts, run.stats);
      await tx.locks.heartbeat(run.district!, this.runId);
    }
  }

  committed(entity: Entity, created: number): void {
    this.run.statistics.grew(entity, created);
  }

  notePendingArchives(entity: Entity): void {
    this.pendingArchives.add(entity);
  }

  created(): void {}

  async studentsInScope(ids: readonly string[], stored: Map<string, StoredState>): Promise<Set<string>> {
    const inScope = new Set<string>();
    for (const id of ids) {
      const s = stored.get(id);
      if (s && !s.archived) inScope.add(id);
    }
    // Only students this run has marked absent can be pending archive: none, nothing to look up.
    if (inScope.size > 0 && this.pendingArchives.has('students')) {
      for (const id of await this.run.store.runs.pendingArchivesAmong(
        this.runId,
        'students',
        [...inScope],
        this.run.source.kind,
      ))
        inScope.delete(id);
    }
    return inScope;
  }

  async retire(source: SourceKind, entity: Entity, ids: readonly string[]): Promise<number> {
    await this.run.store.runs.addPendingArchives(this.runId, entity, ids, source);
    return ids.length;
  }

  async absentAmong(entity: Entity, ids: readonly string[], tx?: Store): Promise<Set<string>> {
    if (ids.length === 0 || !this.pendingArchives.has(entity)) return new Set();
    return new Set(
      await (tx ?? this.run.store).runs.pendingArchivesAmong(this.runId, entity, ids, this.run.source.kind),
    );
  }

  addRekeys(items: readonly PendingRekey[], tx?: Store): Promise<void> {
    return (tx ?? this.run.store).pendingRekeys.add(this.runId, items);
  }

  pendingRekeyCounts(): Promise<Record<string, number>> {
    return this.run.store.pendingRekeys.countsByKind(this.runId);
  }

  pendingArchiveCounts(): Promise<Partial<Record<Entity, number>>> {
    return this.run.store.runs.pendingArchiveCounts(this.runId);
  }

  pendingDeactivationCounts(): Promise<Record<string, number>> {
    return this.run.store.pendingDeactivations.countsByKind(this.runId, this.run.district!);
  }

  async applyRemovals(): Promise<void> {
    const t = Date.now();
    await applyRunRemovals(this.run.store, this.runId, this.run.district!, this.run.counts);
    this.run.stats.timings.archive = Date.now() - t;
  }

  async finish(status: 'succeeded' | 'held', reason: string | null): Promise<void> {
    const { store, counts, stats } = this.run;
    await store.runs.finish(this.runId, status, { counts, stats, reason });
    if (status === 'succeeded') await store.runs.clearPendingArchives(this.runId);
  }

  async fail(reason: string): Promise<void> {
    if (!this.created_) return;
    const { store, counts, stats } = this.run;
    await store.runs.finish(this.runId, 'failed', { counts, stats, reason }).catch(() => undefined);
    // An events sync's cursor moved past the deletes its removals came from: they stay for the next
    // events sync to take over (see takeOverInterrupted); a full sync drops them and looks again.
    if (this.run.kind?.kind === 'events') return;
    await store.runs.clearPendingArchives(this.runId).catch(() => undefined);
    await store.pendingDeactivations.clear(this.runId).catch(() => undefined);
    await store.pendingRekeys.clear(this.runId).catch(() => undefined);
  }
}

/**
 * A plan's ledger: batches run in transactions that are always rolled back (Store.rolledBack), and
 * what a sync would keep for later batches and for the end of the run is kept here, in memory.
 */
export class RecordingLedger implements RunLedger {
  readonly keeps = false;
  readonly runId = null;
  /** Per entity: what a sync would archive. */
  private readonly pending = new Map<Entity, Set<string>>();
  private readonly createdStudents = new Set<string>();
  private readonly deactivations = new Map<string, AccountKind>();
  /** Lower-source records this run would take over (`source\0entity\0id`), and those it would retire. */
  private readonly superseded = new Set<string>();
  private readonly retired = new Map<SourceKind, Map<Entity, string[]>>();
  private readonly retiredCounts: Partial<Record<Entity, number>> = {};
  private readonly rekeys: PendingRekey[] = [];
  private readonly rekeyedAccounts = new Set<string>();

  constructor(private readonly run: RunContext) {}

  async open(): Promise<void> {}

  transaction(fn: (tx: Store) => Promise<void>): Promise<void> {
    return this.run.store.rolledBack(fn);
  }

  async writeRecords(
    tx: Store,
    scope: RecordScope,
    entity: Entity,
    writes: NormalizedRecord[],
  ): Promise<void> {
    await tx.records.write(scope, entity, writes, null);
  }

  async addProblems(): Promise<void> {}

  keepBatch(_tx: Store, b: BatchCommit, prov: ProvisionResult): Promise<void> {
    for (const p of prov.pendingDeactivations) this.deactivations.set(p.accountId, p.kind);
    for (const x of prov.superseded) this.superseded.add(`${x.source}\u0000${b.entity}\u0000${x.id}`);
    let set = this.pending.get(b.entity);
    if (!set) this.pending.set(b.entity, (set = new Set()));
    for (const id of b.absent) set.add(id);
    for (const id of b.present) set.delete(id);
    return Promise.resolve();
  }

  committed(): void {}

  notePendingArchives(): void {}

  created(entity: Entity, records: readonly NormalizedRecord[]): void {
    if (entity === 'students') for (const r of records) this.createdStudents.add(r.sourceId);
  }

  studentsInScope(ids: readonly string[], stored: Map<string, StoredState>): Promise<Set<string>> {
    const pendingStudents = this.pending.get('students') ?? new Set<string>();
    const inScope = new Set<string>();
    for (const id of ids) {
      const s = stored.get(id);
      if ((s && !s.archived && !pendingStudents.has(id)) || this.createdStudents.has(id)) inScope.add(id);
    }
    return Promise.resolve(inScope);
  }

  retire(source: SourceKind, entity: Entity, page: readonly string[]): Promise<number> {
    // A plan's take-overs were rolled back: leave out what the sync would already have archived.
    const ids = page.filter((id) => !this.superseded.has(`${source}\u0000${entity}\u0000${id}`));
    let m = this.retired.get(source);
    if (!m) this.retired.set(source, (m = new Map<Entity, string[]>()));
    m.set(entity, [...(m.get(entity) ?? []), ...ids]);
    this.retiredCounts[entity] = (this.retiredCounts[entity] ?? 0) + ids.length;
    return Promise.resolve(ids.length);
  }

  absentAmong(entity: Entity, ids: readonly string[]): Promise<Set<string>> {
    const pending = this.pending.get(entity);
    return Promise.resolve(new Set(pending ? ids.filter((id) => pending.has(id)) : []));
  }

  addRekeys(items: readonly PendingRekey[]): Promise<void> {
    for (const r of items) {
      this.rekeys.push(r);
      this.rekeyedAccounts.add(r.accountId);
    }
    return Promise.resolve();
  }

  pendingRekeyCounts(): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const r of this.rekeys) out[r.accountKind] = (out[r.accountKind] ?? 0) + 1;
    return Promise.resolve(out);
  }

  pendingArchiveCounts(): Promise<Partial<Record<Entity, number>>> {
    const out: Partial<Record<Entity, number>> = {};
    for (const [e, set] of this.pending) if (set.size > 0) out[e] = set.size;
    for (const [e, n] of Object.entries(this.retiredCounts) as Array<[Entity, number]>)
      out[e] = (out[e] ?? 0) + n;
    return Promise.resolve(out);
  }

  async pendingDeactivationCounts(pending: Partial<Record<Entity, number>>): Promise<Record<string, number>> {
    const { store, source } = this.run;
    const out: Record<string, number> = {};
    for (const kind of this.deactivations.values()) out[kind] = (out[kind] ?? 0) + 1;
    const bySource = new Map<SourceKind, Map<Entity, string[]>>([
      [source.kind, new Map([...this.pending].map(([e, ids]) => [e, [...ids]]))],
      ...this.retired,
    ]);
    for (const [kind, entities] of bySource) {
      for (const entity of ['students', 'staff', 'contacts'] as const) {
        const ids = entities.get(entity) ?? [];
        if (ids.length === 0 || (kind === source.kind && !pending[entity])) continue;
        for (const a of await store.accounts.activeSyncAccountsOf(this.run.district!, kind, ids)) {
          if (!this.deactivations.has(a.id) && !this.rekeyedAccounts.has(a.id))
            out[a.kind] = (out[a.kind] ?? 0) + 1;
        }
      }
    }
    return out;
  }

  applyRemovals(pending: Partial<Record<Entity, number>>, deactivating: number): Promise<void> {
    for (const [entity, n] of Object.entries(pending) as Array<[Entity, number]>)
      this.run.counts.entities[entity].archived += n;
    this.run.counts.accounts.deactivated += deactivating;
    // A plan shows its re-keys as a sync would count them (see sync/rekeys.ts).
    for (const r of this.rekeys) {
      this.run.counts.entities[r.entity].rekeyed++;
      this.run.counts.accounts.rekeyed++;
    }
    return Promise.resolve();
  }

  async finish(): Promise<void> {}

  async fail(): Promise<void> {}
}
