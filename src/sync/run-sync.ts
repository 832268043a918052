import { randomBytes } from 'node:crypto';
import { accountKindOf } from '../accounts/derive.js';
import {
  applyPendingDeactivations,
  deactivateForArchived,
  DecisionOrder,
  deriveVersion,
  provisionBatch,
} from '../accounts/provision.js';
import type { AccountKind } from '../model/account.js';
import type { DistrictConfig } from '../model/district-config.js';
import { ENTITIES, SOURCE_PRECEDENCE, SOURCES } from '../model/entities.js';
import type { Entity, EntityData, SourceKind } from '../model/entities.js';
import { contentHash } from '../model/hash.js';
import type { StoredState } from '../model/hash.js';
import type { AccountCounts, RunCounts, RunMode, RunProblem, RunStats } from '../model/run.js';
import { errorMessage, isRostersyncError, RostersyncError } from '../shared/errors.js';
import { KeySet } from '../shared/key-set.js';
import type { Logger } from '../shared/logger.js';
import { silentLogger } from '../shared/logger.js';
import type { Source, SourcePage, SourceRecord, SourceStream } from '../sources/source.js';
import { StoredOnlyRecord } from '../sources/stored-only.js';
import type { RawRefresh, RecordScope } from '../store/queries/records.js';
import type { Store } from '../store/store.js';
import { RunIdentities } from '../accounts/run-identities.js';
import { attachDistrict, districtIdOf, takeOverInterrupted, withDistrictLock } from './district-session.js';
import type { DistrictLock } from './district-session.js';
import { SchoolScope } from './filter.js';
import { PageOverlap } from './page-overlap.js';
import type { PageTurn } from './page-overlap.js';
import { scheduleStreams } from './stream-scheduler.js';
import { absentIds, asSent, inRange, normalise, reconcile } from './reconcile.js';
import type { NormalizedRecord } from './reconcile.js';
import { emptyRunCounts, emptyStats } from './run-report.js';
import type { RunReport } from './run-report.js';
import { evaluateSafetyValve } from './safety-valve.js';

/** How often batches save the run's progress and the lock's heartbeat. */
const PROGRESS_EVERY_MS = 2000;

export interface SyncProgress {
  stream: string;
  pages: number;
  records: number;
  done: boolean;
}

export interface RunSyncOptions {
  store: Store;
  source: Source;
  /** `sync` writes; `plan` computes the same report and writes nothing. Default `sync`. */
  mode?: 'sync' | 'plan';
  /**
   * Our id for the district. Default: the source's district id (the Clever district id). Give it to
   * attach a source to an existing district (e.g. a CSV district moving to Clever).
   */
  district?: string;
  logger?: Logger;
  onProgress?: (p: SyncProgress) => void;
  /** A district lock not refreshed for this long (ms) is taken over. Default 600000. */
  lockStaleMs?: number;
  /** Streams read at once after schools. Default 3. */
  streamConcurrency?: number;
  /** Problems kept in the returned report (all are stored). Default 100. */
  reportProblems?: number;
  /**
   * Runs under the district lock, after the source validated and before the first record (not in
   * plan mode): work that must only happen when the run really proceeds (CSV overrides).
   */
  beforeStreams?: (store: Store) => Promise<void>;
  /**
   * Runs once every stream has been read, before removals and the safety valve: work of the source
   * that belongs to no stream (CSV overrides applied to accounts no staff file sends). It runs under
   * the district lock and counts in the run; in plan mode it runs with no run id and must write
   * nothing.
   */
  afterStreams?: (run: RunStep) => Promise<void>;
}

/** What a source's step of the run (see RunSyncOptions.afterStreams) can see and add to. */
export interface RunStep {
  store: Store;
  /** The run's id, to stamp on what the step writes; null in plan mode, where it writes nothing. */
  runId: string | null;
  district: string;
  /** Adds account changes the step made to the run's counts (stored with the run and reported). */
  countAccounts(counts: Partial<AccountCounts>): void;
  /** Adds problems to the run: stored with it (not in plan mode) and reported. */
  addProblems(problems: readonly RunProblem[]): Promise<void>;
}

interface PreparedPage {
  byEntity: Map<Entity, NormalizedRecord[]>;
  /** Ids present this run that must not be archived. */
  keep: Set<string>;
  problems: RunProblem[];
}

/**
 * A record the source did not decode whose stored row changed since the source read it: only a
 * source sending one id twice, on different pages, can cause it.
 */
function changedWhileRead(entity: Entity, id: string): RostersyncError {
  return new RostersyncError(
    'bad_response',
    `${entity} ${id} changed in the store while this run read it (sent twice?); run the sync again`,
  );
}

/** Ids written per archive transaction. */
const ARCHIVE_CHUNK = 5000;

export function newRunId(now: Date): string {
  return `${now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z')}-${randomBytes(3).toString('hex')}`;
}

/**
 * Runs one sync of one district from one source and returns its report. Never throws for data or
 * infrastructure problems: those end the run as `failed` (with a reason) or hold it; it throws only
 * for programmer errors.
 */
export async function runSync(opts: RunSyncOptions): Promise<RunReport> {
  return new SyncRunner(opts).run();
}

class SyncRunner {
  private readonly store: Store;
  private readonly source: Source;
  private readonly mode: RunMode;
  private readonly plan: boolean;
  private readonly logger: Logger;
  private readonly runId: string;
  private readonly startedAt: Date;
  private readonly counts: RunCounts = emptyRunCounts();
  private readonly stats: RunStats = emptyStats();
  private readonly reportProblems: RunProblem[] = [];
  private problemCount = 0;
  private district: string | null = null;
  private config!: DistrictConfig;
  private deriveVersion = '';
  /** Identities written this run, when the district had no accounts at its start (see RunIdentities). */
  private known: RunIdentities | null = null;
  /** See ProvisionBatch.noGuardianAccounts. */
  private noGuardianAccounts = false;
  /** Where streams commit side by side: the order in which batches decide accounts (see DecisionOrder). */
  private readonly decisions = new DecisionOrder();
  /** When the run's progress (and the lock's heartbeat) was last saved. */
  private progressSavedAt = 0;
  private scope!: SchoolScope;
  private failure: RostersyncError | null = null;
  private runCreated = false;
  /** Plan mode only: what a sync would archive / create, kept in memory since nothing is written. */
  private readonly planPending = new Map<Entity, Set<string>>();
  private readonly planCreatedStudents = new Set<string>();
  private readonly planDeactivations = new Map<string, AccountKind>();
  /** Plan mode: lower-source records this run would take over, and those it would retire. */
  private readonly planSuperseded = new Set<string>();
  private readonly planRetired = new Map<SourceKind, Map<Entity, string[]>>();
  /** Per entity: rows this run has written (see refreshStatistics). */
  private readonly growth = new Map<Entity, number>();
  /** Statistics refreshes still running (see refreshStatistics); the run waits for them before it ends. */
  private readonly refreshing = new Set<Promise<void>>();
  /** Entities this run has marked records of absent (pending archive) while reading its streams. */
  private readonly pendingArchives = new Set<Entity>();
  /** Streams that returned no records at all, by entity. */
  private readonly emptied = new Set<Entity>();

  constructor(private readonly opts: RunSyncOptions) {
    this.store = opts.store;
    this.source = opts.source;
    this.plan = opts.mode === 'plan';
    this.mode = this.plan ? 'plan' : 'sync';
    this.logger = opts.logger ?? silentLogger();
    this.startedAt = this.store.clock();
    this.runId = newRunId(this.startedAt);
  }

  async run(): Promise<RunReport> {
    const t0 = Date.now();
    try {
      const t = Date.now();
      const d = await this.source.district();
      this.stats.timings.district = Date.now() - t;
      const id = districtIdOf(d, this.opts.district);
      this.district = id;
      this.config = await attachDistrict(this.store, this.source.kind, d, id, { write: !this.plan });
      this.scope = new SchoolScope(this.config.schoolFilter);
      this.deriveVersion = await deriveVersion(this.store, id, this.config);
      if (this.plan) {
        await this.noteAccounts(id);
        await this.source.validate?.();
        return await this.readAndFinalise(t0);
      }
      if (d.sourceDistrictId !== null) await this.store.districts.saveData(id, d.data, contentHash(d.data));
      const lock: DistrictLock = {
        id: this.runId,
        staleMs: this.opts.lockStaleMs ?? 600_000,
        takeOverDead: this.logger,
        busy: (holder) =>
          `district "${id}" is being synced by run ${holder?.runId ?? '?'} (${holder?.owner ?? '?'}); try again when it finishes`,
        quietRelease: true,
      };
      return await withDistrictLock(this.store, id, lock, async () => {
        try {
          await this.open(id);
          return await this.readAndFinalise(t0);
        } catch (err) {
          return await this.finishFailed(err, t0, this.runCreated);
        } finally {
          await this.statisticsRefreshed();
        }
      });
    } catch (err) {
      return this.finishFailed(err, t0, this.runCreated);
    } finally {
      await this.statisticsRefreshed();
    }
  }

  /** Under the district lock: the run takes over what a stopped one left, and is stored as running. */
  private async open(district: string): Promise<void> {
    await this.noteAccounts(district);
    await takeOverInterrupted(this.store, district, this.runId);
    await this.store.runs.create({
      id: this.runId,
      district,
      source: this.source.kind,
      mode: this.mode,
      counts: this.counts,
      stats: this.stats,
    });
    this.runCreated = true;
    await this.source.validate?.();
    if (this.opts.beforeStreams) {
      await this.opts.beforeStreams(this.store);
      this.deriveVersion = await deriveVersion(this.store, district, this.config);
    }
  }

  private async readAndFinalise(t0: number): Promise<RunReport> {
    await this.readStreams();
    if (this.failure) return this.finishFailed(this.failure, t0, true);
    await this.afterStreams();
    await this.statisticsRefreshed();
    return this.finalise(t0);
  }

  private async afterStreams(): Promise<void> {
    if (!this.opts.afterStreams) return;
    await this.opts.afterStreams({
      store: this.store,
      runId: this.plan ? null : this.runId,
      district: this.district!,
      countAccounts: (counts) => addAccountCounts(this.counts.accounts, counts),
      addProblems: async (problems) => {
        if (!this.plan) await this.store.runs.addProblems(this.runId, problems);
        this.noteProblems(problems);
      },
    });
  }

  /**
   * What the district's accounts look like at the start of the run. Under the lock no other run can
   * add accounts from here on (see RunIdentities and ProvisionBatch.noGuardianAccounts); a plan reads
   * the same without the lock, and writes nothing.
   */
  private async noteAccounts(district: string): Promise<void> {
    const accounts = this.store.accounts;
    this.known = (await accounts.hasAny(district)) ? null : new RunIdentities(this.config);
    this.noGuardianAccounts =
      !this.config.provisionGuardians &&
      (this.known !== null ||
        !(await accounts.hasAny(district, { kind: 'guardian', recordSource: this.source.kind })));
  }

  // ---------------------------------------------------------------- streams

  private async readStreams(): Promise<void> {
    await scheduleStreams(this.source.streams(), (s) => this.readStream(s), {
      limit: this.opts.streamConcurrency ?? 3,
      failed: (err) => {
        this.failure ??= asRunError(err);
      },
      stopped: () => this.failure !== null,
    });
  }

  private async readStream(stream: SourceStream): Promise<void> {
    const t = Date.now();
    let prevCursor: string | null = null;
    let pages = 0;
    let records = 0;
    const seen = stream.ordered ? null : new KeySet();
    /** Ids an ordered stream sent outside their page's range (a misbehaving source): never absent. */
    const strays = new Set<string>();
    // A page's transaction is in flight while the next page is prepared; pages still commit
    // strictly in order (see PageOverlap and overlapDepth).
    const overlap = new PageOverlap(this.overlapDepth(stream));
    // A stream none of whose records are stored yet (a first sync) writes every record: the source
    // may prepare them for that while it decodes (see PageOptions.forWriting).
    let forWriting = true;
    for (const entity of stream.entities)
      if (await this.store.records.anyStored(this.recordScope(), entity)) forWriting = false;
    try {
      // A store that bulk-loads COPY text takes the rows in that form (see PageOptions.rowText).
      // A re-sync: items whose bytes are those of their stored record need no decoding (see PageOptions.known).
      const known = forWriting
        ? undefined
        : (entity: Entity, ids: readonly string[]) =>
            this.store.records.states(this.recordScope(), entity, ids);
      for await (const page of stream.pages({
        forWriting,
        rowText: this.store.caps.copy,
        ...(known ? { known } : {}),
      })) {
        if (this.failure) break;
        pages++;
        records += page.records.length + page.invalidIds.length + (page.skipped ?? 0);
        this.counts.entities[stream.entities[0]!].skipped += page.skipped ?? 0;
        this.stats.pages++;
        const prepared = await this.preparePage(stream, page);
        await overlap.start((turn) =>
          this.applyPage(
            stream,
            page,
            prepared,
            prevCursor,
            seen ?? strays,
            { pages, records, complete: false },
            turn,
          ),
        );
        if (page.cursor !== null) prevCursor = page.cursor;
        this.opts.onProgress?.({ stream: stream.name, pages, records, done: false });
      }
      await overlap.drain();
    } finally {
      // On a failure, let every transaction of this stream end before the run does.
      await overlap.settled();
    }
    if (this.failure) return;
    // The snapshot is complete: what is stored but was not seen is absent.
    for (const entity of stream.entities) {
      if (
        records === 0 &&
        (await this.store.records.count({ district: this.district!, source: this.source.kind }, entity)) > 0
      ) {
        this.emptied.add(entity);
      }
      const candidates = stream.ordered
        ? absentIds(
            await this.store.records.activeIdsInRange(this.recordScope(), entity, prevCursor, null),
            strays,
          )
        : await this.absentFromSeen(entity, seen!);
      await this.commit(stream, entity, [], [], candidates, [], {
        cursor: prevCursor,
        pages,
        records,
        complete: true,
      });
    }
    this.stats.timings[stream.name] = Date.now() - t;
    this.opts.onProgress?.({ stream: stream.name, pages, records, done: true });
  }

  /**
   * How many page transactions of a stream may be in flight at once. Two when the database runs
   * transactions side by side, the stream walks ids in order (pages cover disjoint ranges), one
   * entity, it is a real run, and the district had no accounts at its start: then a page's
   * provisioning needs nothing from the store that the page before it is still writing, except for
   * keys this run has already written, and for those it waits (see ProvisionBatch.gate).
   */
  private overlapDepth(stream: SourceStream): number {
    const overlap =
      this.store.caps.concurrentTransactions &&
      stream.ordered &&
      stream.entities.length === 1 &&
      !this.plan &&
      this.known !== null;
    return overlap ? 2 : 1;
  }

  private recordScope(): RecordScope {
    return { district: this.district!, source: this.source.kind };
  }

  private async absentFromSeen(entity: Entity, seen: KeySet): Promise<string[]> {
    const out: string[] = [];
    let after: string | null = null;
    for (;;) {
      const ids = await this.store.records.activeIdsPage(this.recordScope(), entity, after, 10_000);
      if (ids.length === 0) break;
      for (const id of ids) if (!seen.has(id)) out.push(id);
      after = ids[ids.length - 1]!;
    }
    return out;
  }

  /**
   * The CPU half of a page: filter, normalise and hash its records (and scope contacts). Runs while
   * the previous page's transaction is still in flight.
   */
  private async preparePage(stream: SourceStream, page: SourcePage): Promise<PreparedPage> {
    const problems: RunProblem[] = [...page.problems];
    // Ids present this run that must not be archived: kept records and records we could not read.
    const keep = new Set<string>(page.invalidIds);
    const byEntity = new Map<Entity, NormalizedRecord[]>();
    for (const e of stream.entities) byEntity.set(e, []);
    for (const id of page.invalidIds) {
      const e = stream.entities[0]!;
      this.counts.entities[e].skipped++;
      if (e === 'schools') this.scope.addKnownId(id);
    }

    // Records the source did not decode, that the school filter trims: their stored data is read.
    const trimmed = page.records.filter(
      (rec): rec is StoredOnlyRecord =>
        rec instanceof StoredOnlyRecord &&
        (rec.entity === 'students' || rec.entity === 'staff' || rec.entity === 'sections') &&
        !this.scope.keepsAll(rec.entity, rec.schoolIds ?? []),
    );
    if (trimmed.length > 0) await this.loadStored(this.store, trimmed);

    const contacts: SourceRecord[] = [];
    for (const rec of page.records) {
      const counts = this.counts.entities[rec.entity];
      /** null: filtered out; undefined: the record as the source sent it (its `data` maybe unread). */
      let data: EntityData[Entity] | null | undefined = undefined;
      switch (rec.entity) {
        case 'schools':
          if (!this.scope.addSchool(rec.sourceId, rec.data as EntityData['schools'])) data = null;
          break;
        case 'students':
        case 'staff':
        case 'sections': {
          // Every school of the record in scope: nothing to filter, no need to read the record.
          if (rec.schoolIds !== undefined && this.scope.keepsAll(rec.entity, rec.schoolIds)) break;
          const outcome =
            rec.entity === 'students'
              ? this.scope.student(rec.data as EntityData['students'])
              : rec.entity === 'staff'
                ? this.scope.staff(rec.data as EntityData['staff'])
                : this.scope.section(rec.data as EntityData['sections']);
          if (outcome.kind === 'keep') data = outcome.data === rec.data ? undefined : outcome.data;
          else {
            data = null;
            if (outcome.kind === 'unknown') {
              keep.add(rec.sourceId);
              problems.push({
                severity: 'error',
                entity: rec.entity,
                recordId: rec.sourceId,
                field: 'school',
                reason: `references school(s) the source did not send: ${outcome.schoolIds.join(', ')}`,
              });
            }
          }
          break;
        }
        case 'contacts':
          contacts.push(rec);
          continue;
        default:
          break;
      }
      if (data === null) {
        counts.skipped++;
        continue;
      }
      keep.add(rec.sourceId);
      byEntity.get(rec.entity)?.push(data === undefined ? asSent(rec) : normalise(rec.sourceId, data));
    }
    if (contacts.length > 0) {
      for (const c of await this.filterContacts(contacts)) {
        if (c.data === null) {
          this.counts.entities.contacts.skipped++;
          continue;
        }
        keep.add(c.record.sourceId);
        byEntity
          .get('contacts')
          ?.push(c.data === undefined ? asSent(c.record) : normalise(c.record.sourceId, c.data));
      }
    }

    return { byEntity, keep, problems };
  }

  /** The database half of a page: read stored state, reconcile, and commit. Pages apply in order. */
  private async applyPage(
    stream: SourceStream,
    page: SourcePage,
    prepared: PreparedPage,
    prevCursor: string | null,
    /** Unordered streams: every id seen so far. Ordered ones: the ids sent outside their page's range. */
    seen: KeySet | Set<string>,
    progress: { pages: number; records: number; complete: boolean },
    overlap: PageTurn | null = null,
  ): Promise<void> {
    const { byEntity, keep, problems } = prepared;
    for (const [entity, incoming] of byEntity) {
      if (!stream.ordered) for (const id of keep) seen.add(id);
      // An ordered page covers the id range (prevCursor, cursor]: one range read gives both what is
      // stored for its records and what is stored but was not sent (absent). Ids a source sends
      // outside its page's range are still read one by one, so reconcile stays exact.
      let stored: Map<string, StoredState>;
      const candidates: string[] = [];
      let stray: string[] = [];
      if (stream.ordered && page.cursor !== null) {
        stored = await this.store.records.statesInRange(this.recordScope(), entity, prevCursor, page.cursor);
        stray = [...keep].filter((id) => !inRange(id, prevCursor, page.cursor));
        // A stray may be in the range the page before is still writing: read it after that commits.
        if (stray.length > 0 && overlap?.before) await overlap.before;
        for (const id of stray) seen.add(id);
        for (const [id, st] of stored)
          if (!st.archived && !keep.has(id) && !seen.has(id)) candidates.push(id);
        for (const [id, st] of await this.store.records.states(this.recordScope(), entity, stray))
          stored.set(id, st);
      } else {
        stored = await this.store.records.states(
          this.recordScope(),
          entity,
          incoming.map((r) => r.sourceId),
        );
      }
      const changes = reconcile(stored, incoming);
      // A record the source did not decode is the stored one (it carries the stored hash): it can
      // only need writing if the row changed since the source read it, which only a source sending
      // the same id twice on different pages could do.
      for (const r of [...changes.created, ...changes.updated, ...changes.restored]) {
        if (r.storedOnly && !r.storedOnly.isLoaded) throw changedWhileRead(entity, r.sourceId);
      }
      const c = this.counts.entities[entity];
      c.created += changes.created.length;
      c.updated += changes.updated.length;
      c.restored += changes.restored.length;
      c.unchanged += changes.unchanged.length;
      c.skipped += changes.duplicates.length;
      for (const id of changes.duplicates) {
        problems.push({
          severity: 'warning',
          entity,
          recordId: id,
          field: null,
          reason: 'sent twice by the source; the first copy was used',
        });
      }
      if (this.plan && entity === 'students')
        for (const r of changes.created) this.planCreatedStudents.add(r.sourceId);
      // Unchanged records decoded although stored: their raw hash (see SourceRecord.raw) was not
      // stored with them, so it is, and the next re-sync recognises them without decoding.
      const rawRefresh: RawRefresh[] = [];
      for (const r of changes.records) {
        if (r.storedOnly || r.isNew) continue;
        const raw = r.raw;
        const st = stored.get(r.sourceId);
        if (raw && st && !st.archived && st.hash === r.hash && st.raw !== undefined && st.raw !== raw)
          rawRefresh.push({ sourceId: r.sourceId, raw, scope: r.scope ?? null });
      }
      const writes: NormalizedRecord[] = [...changes.created, ...changes.updated, ...changes.restored];
      // Provisioning sees every record of the page once (a record sent twice gets one account).
      await this.commit(
        stream,
        entity,
        writes,
        changes.records,
        candidates,
        problems.splice(0),
        { cursor: page.cursor ?? prevCursor, ...progress },
        stray,
        overlap,
        rawRefresh,
      );
    }
  }

  /**
   * Gives records the source did not decode (see sources/stored-only.ts) their stored data. The
   * source found them unchanged under the stored hash they carry; a row whose hash has changed since
   * fails the run rather than lend a record data it was not sent with.
   */
  private async loadStored(store: Store, records: readonly StoredOnlyRecord[]): Promise<void> {
    if (records.length === 0) return;
    const entity = records[0]!.entity;
    const stored = await store.records.storedData(
      this.recordScope(),
      entity,
      records.map((r) => r.sourceId),
    );
    for (const r of records) {
      const row = stored.get(r.sourceId);
      if (!row || row.hash !== r.hash) throw changedWhileRead(entity, r.sourceId);
      r.load(row.data);
    }
  }

  /**
   * A contact is in scope while it belongs to at least one student in scope; relationships to
   * students out of scope are dropped. Students to be archived by this run are out of scope.
   */
  private async filterContacts(
    contacts: readonly SourceRecord[],
  ): Promise<Array<{ record: SourceRecord; data: EntityData['contacts'] | null | undefined }>> {
    const studentsOf = (c: SourceRecord): readonly string[] =>
      c.studentIds ?? (c.data as EntityData['contacts']).relationships.map((r) => r.studentId);
    const ids = [...new Set(contacts.flatMap(studentsOf))];
    const stored = await this.store.records.states(this.recordScope(), 'students', ids);
    const pendingStudents = this.plan ? (this.planPending.get('students') ?? new Set<string>()) : null;
    const inScope = new Set<string>();
    for (const id of ids) {
      const s = stored.get(id);
      if ((s && !s.archived && !pendingStudents?.has(id)) || this.planCreatedStudents.has(id))
        inScope.add(id);
    }
    // Only students this run has marked absent can be pending archive: none, nothing to look up.
    if (!this.plan && inScope.size > 0 && this.pendingArchives.has('students')) {
      for (const id of await this.store.runs.pendingArchivesAmong(
        this.runId,
        'students',
        [...inScope],
        this.source.kind,
      ))
        inScope.delete(id);
    }
    // Contacts the source did not decode that lose some of their students: their stored data is read.
    const trimmed = contacts.filter(
      (c): c is StoredOnlyRecord =>
        c instanceof StoredOnlyRecord && studentsOf(c).some((id) => !inScope.has(id)),
    );
    if (trimmed.length > 0) await this.loadStored(this.store, trimmed);
    return contacts.map((c) => {
      const students = studentsOf(c);
      const kept = students.filter((id) => inScope.has(id)).length;
      if (kept === 0) return { record: c, data: null };
      // All its students in scope: the contact as sent (undefined), without reading it.
      if (kept === students.length) return { record: c, data: undefined };
      const data = c.data as EntityData['contacts'];
      return {
        record: c,
        data: { ...data, relationships: data.relationships.filter((r) => inScope.has(r.studentId)) },
      };
    });
  }

  /**
   * Writes one batch in one transaction: the changed records, the accounts they imply, the archive
   * candidates, problems, the checkpoint and the run's progress. In plan mode the same transaction
   * runs and is rolled back, so the plan counts exactly what a sync would do.
   */
  private async commit(
    stream: SourceStream,
    entity: Entity,
    writes: NormalizedRecord[],
    incoming: NormalizedRecord[],
    candidates: string[],
    problems: RunProblem[],
    cp: { cursor: string | null; pages: number; records: number; complete: boolean },
    /** Ids an earlier page of this run may have marked absent, that turned up after all. */
    present: readonly string[] = [],
    overlap: PageTurn | null = null,
    /** Unchanged records whose raw item hash is to be stored (see RecordsRepo.refreshRaw). */
    rawRefresh: readonly RawRefresh[] = [],
  ): Promise<void> {
    const scope = this.recordScope();
    const source = this.source.stats();
    this.stats.requests = source.requests;
    this.stats.retries = source.retries;
    // Records the source recognised unchanged by their bytes, without decoding them (PageOptions.known).
    if (source.undecoded !== undefined) this.stats.undecoded = source.undecoded;
    const rollback = new Error('plan: roll back');
    let ended!: () => void;
    const transactionEnded = new Promise<void>((resolve) => (ended = resolve));
    try {
      const transaction = this.store.transaction(async (tx) => {
        await tx.records.write(scope, entity, writes, this.plan ? null : this.runId);
        if (!this.plan && rawRefresh.length > 0) {
          await tx.records.refreshRaw(scope, entity, rawRefresh);
          this.stats.rawRefreshed = (this.stats.rawRefreshed ?? 0) + rawRefresh.length;
        }
        const prov = await provisionBatch(tx, {
          ...(this.store.caps.concurrentTransactions &&
          accountKindOf(entity) &&
          !(entity === 'contacts' && this.noGuardianAccounts)
            ? { order: { decisions: this.decisions, ended: transactionEnded } }
            : {}),
          runId: this.plan ? null : this.runId,
          district: this.district!,
          source: this.source.kind,
          entity,
          config: this.config,
          deriveVersion: this.deriveVersion,
          records: incoming,
          loadData: (records) =>
            this.loadStored(
              tx,
              records.flatMap((r) => {
                const so = (r as NormalizedRecord).storedOnly;
                return so && !so.isLoaded ? [so] : [];
              }),
            ),
          known: this.known,
          noGuardianAccounts: this.noGuardianAccounts,
          ...(overlap ? { gate: overlap.gate } : {}),
        });
        addAccountCounts(this.counts.accounts, prov.counts);
        problems.push(...prov.problems);
        if (this.plan) {
          for (const p of prov.pendingDeactivations) this.planDeactivations.set(p.accountId, p.kind);
          for (const x of prov.superseded) this.planSuperseded.add(`${x.source}\u0000${entity}\u0000${x.id}`);
          throw rollback;
        }
        // The run's shared rows (checkpoint, problems, progress) are written in page order.
        if (overlap?.before) await overlap.before;
        if (candidates.length > 0) {
          this.pendingArchives.add(entity);
          await tx.runs.addPendingArchives(this.runId, entity, candidates, this.source.kind);
        }
        if (present.length > 0)
          await tx.runs.removePendingArchives(this.runId, entity, present, this.source.kind);
        await tx.runs.addProblems(this.runId, problems);
        await tx.checkpoints.save({
          district: this.district!,
          source: this.source.kind,
          stream: stream.name,
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
          await tx.runs.progress(this.runId, this.counts, this.stats);
          await tx.locks.heartbeat(this.district!, this.runId);
        }
      });
      // Later batches may be waiting for this one to end: tell them before anything else.
      void transaction.then(ended, ended);
      await transaction;
      this.refreshStatistics(entity, writes.length);
    } catch (err) {
      if (err !== rollback) throw err;
      let set = this.planPending.get(entity);
      if (!set) this.planPending.set(entity, (set = new Set()));
      for (const id of candidates) set.add(id);
      for (const id of present) set.delete(id);
    }
    this.noteProblems(problems);
  }

  /**
   * Gives the planner statistics while tables grow from empty: once, when a run has written 4,000
   * rows of an entity. At that size ANALYZE reads the whole table, so it is cheap, and it records
   * which columns are unique (n_distinct -1, which scales with the table). From then on PostgreSQL
   * scales its estimates by the table's current size, so the plans stay right as it grows, and
   * autovacuum takes over (its analyze threshold is 10% of the 4,000 rows).
   *
   * A second refresh at 64,000 rows was dropped (session 8): sampling 30,000 wide rows of each
   * table cost ~2 s of PostgreSQL CPU per 100,000 students, a fifth of the database's work in a
   * first sync. Without it no statement of a 200,000-student sync took 40 ms or more
   * (auto_explain), and a 1,000,000-student sync took as long as before, within the machine's drift.
   *
   * The refresh runs beside the sync, on a connection of its own: ANALYZE takes no lock that writes
   * wait for, and awaited it stalled the stream (the next page's transaction waits for the one
   * before it to be done). A refresh that fails is logged, not fatal: statistics only steer the
   * planner. The run waits for refreshes before it ends.
   */
  private refreshStatistics(entity: Entity, rows: number): void {
    const written = (this.growth.get(entity) ?? 0) + rows;
    this.growth.set(entity, written);
    if (written < 4000 || written - rows >= 4000) return;
    const tables: Array<Parameters<Store['analyze']>[0][number]> = [entity];
    if (entity === 'sections') tables.push('section_members');
    if (entity === 'contacts') tables.push('contact_students');
    if (
      entity === 'students' ||
      entity === 'staff' ||
      (entity === 'contacts' && this.config.provisionGuardians)
    ) {
      tables.push('accounts');
    }
    const refresh = this.store.analyze(tables).catch((err: unknown) => {
      this.logger.warn(
        { district: this.district, run: this.runId, tables, err: errorMessage(err) },
        'refreshing planner statistics failed',
      );
    });
    this.refreshing.add(refresh);
    void refresh.finally(() => this.refreshing.delete(refresh));
  }

  private async statisticsRefreshed(): Promise<void> {
    while (this.refreshing.size > 0) await Promise.all([...this.refreshing]);
  }

  private noteProblems(problems: readonly RunProblem[]): void {
    this.problemCount += problems.length;
    const room = (this.opts.reportProblems ?? 100) - this.reportProblems.length;
    if (room > 0) this.reportProblems.push(...problems.slice(0, room));
  }

  // ---------------------------------------------------------------- finalisation

  private async pendingCounts(): Promise<Partial<Record<Entity, number>>> {
    if (this.plan) {
      const out: Partial<Record<Entity, number>> = {};
      for (const [e, set] of this.planPending) if (set.size > 0) out[e] = set.size;
      return out;
    }
    return this.store.runs.pendingArchiveCounts(this.runId);
  }

  /** Account deactivations the run would make, per account kind (archives + no-longer-eligible). */
  private async pendingDeactivationCounts(
    pending: Partial<Record<Entity, number>>,
  ): Promise<Record<string, number>> {
    if (!this.plan) return this.store.accounts.pendingDeactivationCounts(this.runId, this.district!);
    const out: Record<string, number> = {};
    for (const kind of this.planDeactivations.values()) out[kind] = (out[kind] ?? 0) + 1;
    const bySource = new Map<SourceKind, Map<Entity, string[]>>([
      [this.source.kind, new Map([...this.planPending].map(([e, ids]) => [e, [...ids]]))],
      ...this.planRetired,
    ]);
    for (const [source, entities] of bySource) {
      for (const entity of ['students', 'staff', 'contacts'] as const) {
        const ids = entities.get(entity) ?? [];
        if (ids.length === 0 || (source === this.source.kind && !pending[entity])) continue;
        for (const a of await this.store.accounts.activeSyncAccountsOf(this.district!, source, ids)) {
          if (!this.planDeactivations.has(a.id)) out[a.kind] = (out[a.kind] ?? 0) + 1;
        }
      }
    }
    return out;
  }

  /**
   * A district on a higher source (Clever) no longer sends a lower one (CSV): what the lower source
   * left active and this run did not take over is retired, through the same valve as any archive.
   * Off per district with `csv.retireWhenOnClever: false` (people rostered from both).
   */
  private async retireLowerSources(): Promise<Partial<Record<Entity, number>>> {
    const counts: Partial<Record<Entity, number>> = {};
    if (!this.config.csv.retireWhenOnClever) return counts;
    const lower = SOURCES.filter(
      (s) => s !== 'manual' && SOURCE_PRECEDENCE[s] < SOURCE_PRECEDENCE[this.source.kind],
    );
    for (const source of lower) {
      const scope: RecordScope = { district: this.district!, source };
      for (const entity of ENTITIES) {
        for (let after: string | null = null; ;) {
          const page = await this.store.records.activeIdsPage(scope, entity, after, ARCHIVE_CHUNK);
          if (page.length === 0) break;
          after = page[page.length - 1]!;
          // A plan's take-overs were rolled back: leave out what the sync would already have archived.
          const ids = this.plan
            ? page.filter((id) => !this.planSuperseded.has(`${source}\u0000${entity}\u0000${id}`))
            : page;
          counts[entity] = (counts[entity] ?? 0) + ids.length;
          if (this.plan) {
            let m = this.planRetired.get(source);
            if (!m) this.planRetired.set(source, (m = new Map<Entity, string[]>()));
            m.set(entity, [...(m.get(entity) ?? []), ...ids]);
          } else await this.store.runs.addPendingArchives(this.runId, entity, ids, source);
        }
      }
    }
    return counts;
  }

  private async finalise(t0: number): Promise<RunReport> {
    const retired = await this.retireLowerSources();
    const pending = await this.pendingCounts();
    if (this.plan)
      for (const [e, n] of Object.entries(retired) as Array<[Entity, number]>)
        pending[e] = (pending[e] ?? 0) + n;
    const deactivating = await this.pendingDeactivationCounts(pending);
    // Hand-made accounts are never deactivated by a run, so they do not dilute the percentage.
    const active = await this.store.accounts.countsByKind(this.district!, 'sync');
    const kinds: Record<string, { active: number; removing: number }> = {
      students: { active: active.student.active, removing: deactivating.student ?? 0 },
      staff: { active: active.staff.active, removing: deactivating.staff ?? 0 },
    };
    const emptied: string[] = [];
    for (const e of this.emptied) {
      emptied.push(e);
      if (e !== 'students' && e !== 'staff')
        kinds[e] = { active: await this.store.records.count(this.recordScope(), e), removing: 0 };
    }
    const valve = evaluateSafetyValve({
      kinds,
      emptiedKinds: emptied,
      maxPercent: this.config.safetyValve.maxPercent,
      minCount: this.config.safetyValve.minCount,
    });
    const totalDeactivating = Object.values(deactivating).reduce((a, b) => a + b, 0);
    if (valve.hold) {
      const reason = `held by the safety valve: ${valve.reasons.join('; ')}`;
      this.counts.accounts.held += totalDeactivating;
      this.logger.warn(
        { district: this.district, run: this.runId, pending, deactivating },
        'run held by the safety valve',
      );
      return this.finish('held', reason, pending, t0);
    }
    if (this.plan) {
      for (const [entity, n] of Object.entries(pending) as Array<[Entity, number]>)
        this.counts.entities[entity].archived += n;
      this.counts.accounts.deactivated += totalDeactivating;
      return this.finish('succeeded', null, {}, t0);
    }
    const t = Date.now();
    await applyRunRemovals(this.store, this.runId, this.district!, this.counts);
    this.stats.timings.archive = Date.now() - t;
    return this.finish('succeeded', null, {}, t0);
  }

  private async finish(
    status: 'succeeded' | 'held',
    reason: string | null,
    pending: Partial<Record<Entity, number>>,
    t0: number,
  ): Promise<RunReport> {
    this.collectSourceStats(t0);
    if (!this.plan) {
      await this.store.runs.finish(this.runId, status, { counts: this.counts, stats: this.stats, reason });
      if (status === 'succeeded') await this.store.runs.clearPendingArchives(this.runId);
    }
    return this.report(status, reason, pending);
  }

  private async finishFailed(err: unknown, t0: number, runCreated: boolean): Promise<RunReport> {
    const failure = asRunError(err);
    if (!isRostersyncError(err) && !(err === this.failure)) {
      // Not an expected failure: still end the run, but keep the stack in the log for the bug report.
      this.logger.error({ err }, 'sync stopped by an unexpected error');
    }
    this.collectSourceStats(t0);
    const reason = `${failure.code}: ${failure.message}`;
    if (!this.plan && this.district && runCreated) {
      await this.store.runs
        .finish(this.runId, 'failed', { counts: this.counts, stats: this.stats, reason })
        .catch(() => undefined);
      await this.store.runs.clearPendingArchives(this.runId).catch(() => undefined);
      await this.store.accounts.clearPendingDeactivations(this.runId).catch(() => undefined);
    }
    return this.report('failed', reason, {});
  }

  private collectSourceStats(t0: number): void {
    Object.assign(this.stats, this.source.stats());
    this.stats.timings.total = Date.now() - t0;
  }

  private report(
    status: RunReport['status'],
    reason: string | null,
    pending: Partial<Record<Entity, number>>,
  ): RunReport {
    const finishedAt = this.store.clock();
    return {
      runId: this.runId,
      district: this.district,
      source: this.source.kind,
      mode: this.mode,
      status,
      reason,
      startedAt: this.startedAt.toISOString(),
      finishedAt: finishedAt.toISOString(),
      durationMs: this.stats.timings.total ?? 0,
      counts: this.counts.entities,
      accounts: this.counts.accounts,
      pending,
      problems: this.reportProblems,
      problemCount: this.problemCount,
      stats: this.stats,
    };
  }
}

/**
 * Applies what a run found absent: archives the records (dependents first) and deactivates their
 * accounts, chunk by chunk, each chunk in one transaction; then the accounts queued as no longer
 * eligible. Records that came back in the meantime are skipped by the store's active-only guard.
 */
export async function applyRunRemovals(
  store: Store,
  runId: string,
  district: string,
  counts: RunCounts,
): Promise<void> {
  const order: Entity[] = ['sections', 'contacts', 'students', 'staff', 'terms', 'courses', 'schools'];
  for (const entity of order) {
    for (const source of await store.runs.pendingArchiveSources(runId, entity)) {
      const scope: RecordScope = { district, source };
      await archivePending(store, runId, entity, scope, counts);
    }
  }
  await store.transaction(async (tx) => {
    counts.accounts.deactivated += await applyPendingDeactivations(tx, runId, district);
    await tx.accounts.clearPendingDeactivations(runId);
    await tx.runs.progressCounts(runId, counts);
  });
}

async function archivePending(
  store: Store,
  runId: string,
  entity: Entity,
  scope: RecordScope,
  counts: RunCounts,
): Promise<void> {
  let after: string | null = null;
  for (;;) {
    const ids = await store.runs.pendingArchives(runId, entity, scope.source, after, ARCHIVE_CHUNK);
    if (ids.length === 0) break;
    await store.transaction(async (tx) => {
      const n = await tx.records.archive(scope, entity, ids, runId);
      counts.entities[entity].archived += n;
      counts.accounts.deactivated += await deactivateForArchived(tx, {
        runId,
        district: scope.district,
        source: scope.source,
        entity,
        ids,
      });
      await tx.runs.progressCounts(runId, counts);
    });
    after = ids[ids.length - 1]!;
  }
}

function addAccountCounts(into: AccountCounts, add: Partial<AccountCounts>): void {
  for (const [k, v] of Object.entries(add) as Array<[keyof AccountCounts, number]>) into[k] += v;
}

function asRunError(err: unknown): RostersyncError {
  if (isRostersyncError(err)) return err;
  return new RostersyncError('upstream', errorMessage(err), { cause: err });
}
