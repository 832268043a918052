import { randomBytes } from 'node:crypto';
import { deriveVersion } from '../accounts/provision.js';
import { RunIdentities } from '../accounts/run-identities.js';
import type { SchoolFilter } from '../model/district-config.js';
import { contentHash } from '../model/hash.js';
import type { AccountCounts, RunProblem } from '../model/run.js';
import { errorMessage, isRostersyncError, RostersyncError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import { silentLogger } from '../shared/logger.js';
import type { Source } from '../sources/source.js';
import type { Store } from '../store/store.js';
import { addAccountCounts } from './apply-batch.js';
import { attachDistrict, districtIdOf, takeOverInterrupted } from './district-session.js';
import { withDistrictLock } from '../store/district-lock.js';
import type { DistrictLock } from '../store/district-lock.js';
import { SchoolScope } from './filter.js';
import { finaliseRun } from './finalise-run.js';
import type { RunOutcome } from './finalise-run.js';
import { PagePipeline } from './page-pipeline.js';
import { RunContext } from './run-context.js';
import type { SyncProgress } from './run-context.js';
import { RecordingLedger, WritingLedger } from './run-ledger.js';
import type { RunReport } from './run-report.js';
import { scheduleStreams } from './stream-scheduler.js';
import { EventPipeline } from './event-pipeline.js';
import { chooseSyncKind, newestEvent, settingsStamp } from './sync-kind.js';
import type { SyncKindDecision, SyncKindRequest } from './sync-kind.js';
import type { EventFeed } from '../sources/source.js';

export type { SyncProgress } from './run-context.js';

/**
 * One run, in order: attach the district; in a sync, take its lock, take over what a stopped run
 * left and store the run as running; read the streams (see PagePipeline, stream by stream, see
 * scheduleStreams); the source's own step (afterStreams); then retire, put removals to the safety
 * valve and apply them (see finaliseRun). What the run keeps, and where, is its ledger's business
 * (see RunLedger): a plan runs the same path and keeps nothing.
 */

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
   * For a source with an event feed (Clever): `full` walks every stream, `events` applies the
   * changes after the district's event cursor, `auto` picks (see chooseSyncKind). Default `full`
   * (the CLI and scheduled runs ask for `auto`).
   */
  kind?: SyncKindRequest;
  /** `auto` syncs in full when the last full sync began this many days ago. Default 7. */
  fullSyncEveryDays?: number;
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
  /**
   * Plan mode only: plan as if the district's school filter were this one (null: no filter), to
   * show what changing it would do before it is saved. Ignored by a sync.
   */
  schoolFilter?: SchoolFilter | null;
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
  private readonly ctx: RunContext;
  private readonly startedAt: Date;
  /** The source's event feed, if it has one. */
  private feed: EventFeed | null = null;
  /** Full or events, and why (sources with an event feed only). */
  private decision: SyncKindDecision | null = null;
  /** A full sync: the newest event before its walk (null: none noted). */
  private newest: string | null = null;

  constructor(private readonly opts: RunSyncOptions) {
    this.startedAt = opts.store.clock();
    const run = new RunContext(
      opts.store,
      opts.source,
      opts.mode === 'plan' ? 'plan' : 'sync',
      newRunId(this.startedAt),
      opts.logger ?? silentLogger(),
      opts.reportProblems ?? 100,
      opts.onProgress,
    );
    run.ledger = opts.mode === 'plan' ? new RecordingLedger(run) : new WritingLedger(run);
    this.ctx = run;
  }

  async run(): Promise<RunReport> {
    const run = this.ctx;
    const { store, source, ledger } = run;
    const t0 = Date.now();
    try {
      const t = Date.now();
      const d = await source.district();
      run.stats.timings.district = Date.now() - t;
      const id = districtIdOf(d, this.opts.district);
      run.district = id;
      run.config = await attachDistrict(store, source.kind, d, id, { write: ledger.keeps });
      if (!ledger.keeps && this.opts.schoolFilter !== undefined)
        run.config = { ...run.config, schoolFilter: this.opts.schoolFilter };
      run.scope = new SchoolScope(run.config.schoolFilter);
      run.deriveVersion = await deriveVersion(store, id, run.config);
      this.feed = source.events?.() ?? null;
      if (!ledger.keeps) {
        await this.noteAccounts(id);
        await source.validate?.();
        await this.chooseKind(id);
        if (this.decision?.error) throw this.decision.error;
        return await this.readAndFinalise(t0);
      }
      if (d.sourceDistrictId !== null) await store.districts.saveData(id, d.data, contentHash(d.data));
      const lock: DistrictLock = {
        id: run.runId,
        staleMs: this.opts.lockStaleMs ?? 600_000,
        takeOverDead: run.logger,
        busy: (holder) =>
          `district "${id}" is being synced by run ${holder?.runId ?? '?'} (${holder?.owner ?? '?'}); try again when it finishes`,
        quietRelease: true,
      };
      return await withDistrictLock(store, id, lock, async () => {
        try {
          await this.open(id);
          return await this.readAndFinalise(t0);
        } catch (err) {
          return await this.finishFailed(err, t0);
        } finally {
          await run.statistics.settled();
        }
      });
    } catch (err) {
      return this.finishFailed(err, t0);
    } finally {
      await run.statistics.settled();
    }
  }

  /** Under the district lock: the run takes over what a stopped one left, and is stored as running. */
  private async open(district: string): Promise<void> {
    const run = this.ctx;
    await this.noteAccounts(district);
    // The run is stored whatever the choice met (an unreachable feed fails it as any outage does).
    const unchosen = await this.chooseKind(district).then(
      () => null,
      (err: unknown) => asRunError(err),
    );
    await takeOverInterrupted(run.store, district, run.runId, {
      carryEvents: unchosen === null && this.decision?.kind === 'events' && !this.decision.error,
    });
    await run.ledger.open();
    if (unchosen !== null) throw unchosen;
    if (this.decision?.error) throw this.decision.error;
    await run.source.validate?.();
    if (this.opts.beforeStreams) {
      await this.opts.beforeStreams(run.store);
      run.deriveVersion = await deriveVersion(run.store, district, run.config);
    }
  }

  /**
   * What the district's accounts look like at the start of the run. Under the lock no other run can
   * add accounts from here on (see RunIdentities and ProvisionBatch.noGuardianAccounts); a plan reads
   * the same without the lock, and writes nothing.
   */
  private async noteAccounts(district: string): Promise<void> {
    const run = this.ctx;
    const accounts = run.store.accounts;
    run.known = (await accounts.hasAny(district)) ? null : new RunIdentities(run.config);
    run.noGuardianAccounts =
      !run.config.provisionGuardians &&
      (run.known !== null ||
        !(await accounts.hasAny(district, { kind: 'guardian', recordSource: run.source.kind })));
  }

  /** Full or events (see chooseSyncKind), for a source with an event feed. */
  private async chooseKind(district: string): Promise<void> {
    const run = this.ctx;
    if (!this.feed) return;
    this.decision = await chooseSyncKind({
      requested: this.opts.kind ?? 'full',
      feed: this.feed,
      state: await run.store.eventCursors.get(district),
      lastStatus: (await run.store.runs.list({ district, limit: 20, mode: 'sync' })).find(
        (r) => r.source === run.source.kind && r.id !== run.runId && r.status !== 'running',
      )?.status,
      stamp: settingsStamp(run.deriveVersion, this.feed),
      now: run.store.clock(),
      fullEveryDays: this.opts.fullSyncEveryDays ?? 7,
    });
    run.kind = { kind: this.decision.kind, reason: this.decision.reason };
    run.logger.info(
      { district, run: run.runId, kind: run.kind.kind, why: run.kind.reason },
      'sync kind chosen',
    );
  }

  private async readAndFinalise(t0: number): Promise<RunReport> {
    const run = this.ctx;
    if (this.feed && this.decision?.kind === 'events') {
      await new EventPipeline(run).read(this.feed, this.decision.cursor ?? '');
      if (run.failure) return this.finishFailed(run.failure, t0);
      await run.statistics.settled();
      return this.finish(await finaliseRun(run), t0);
    }
    // A full sync notes the newest event before its walk: changes made during the walk come after
    // it, and the events sync that follows replays them harmlessly.
    if (this.feed && run.ledger.keeps) {
      this.newest = await newestEvent(this.feed);
      if (this.newest !== null)
        await run.store.eventCursors.fullStarted(run.district!, run.runId, this.newest);
    }
    const pipeline = new PagePipeline(run);
    await scheduleStreams(run.source.streams(), (s) => pipeline.readStream(s), {
      limit: this.opts.streamConcurrency ?? 3,
      failed: (err) => {
        run.failure ??= asRunError(err);
      },
      stopped: () => run.failure !== null,
    });
    if (run.failure) return this.finishFailed(run.failure, t0);
    await this.afterStreams();
    await run.statistics.settled();
    return this.finish(await finaliseRun(run), t0);
  }

  private async afterStreams(): Promise<void> {
    if (!this.opts.afterStreams) return;
    const run = this.ctx;
    await this.opts.afterStreams({
      store: run.store,
      runId: run.ledger.runId,
      district: run.district!,
      countAccounts: (counts) => addAccountCounts(run.counts.accounts, counts),
      addProblems: async (problems) => {
        await run.ledger.addProblems(problems);
        run.noteProblems(problems);
      },
    });
  }

  private async finish(outcome: RunOutcome, t0: number): Promise<RunReport> {
    this.collectSourceStats(t0);
    await this.ctx.ledger.finish(outcome.status, outcome.reason);
    if (this.feed && this.newest !== null && this.ctx.ledger.keeps) {
      // Every stream was read (a held run's removals wait for approval; its creations and updates
      // are in): the events after the noted one are what the next events sync applies.
      await this.ctx.store.eventCursors.fullFinished(
        this.ctx.district!,
        this.ctx.runId,
        this.startedAt.toISOString(),
        settingsStamp(this.ctx.deriveVersion, this.feed),
      );
    }
    return this.report(outcome.status, outcome.reason, outcome.pending);
  }

  private async finishFailed(err: unknown, t0: number): Promise<RunReport> {
    const failure = asRunError(err);
    if (!isRostersyncError(err) && !(err === this.ctx.failure)) {
      // Not an expected failure: still end the run, but keep the stack in the log for the bug report.
      this.ctx.logger.error({ err }, 'sync stopped by an unexpected error');
    }
    this.collectSourceStats(t0);
    const reason = `${failure.code}: ${failure.message}`;
    if (this.ctx.district) await this.ctx.ledger.fail(reason);
    return this.report('failed', reason, {});
  }

  private collectSourceStats(t0: number): void {
    Object.assign(this.ctx.stats, this.ctx.source.stats());
    this.ctx.stats.timings.total = Date.now() - t0;
  }

  private report(
    status: RunReport['status'],
    reason: string | null,
    pending: RunReport['pending'],
  ): RunReport {
    const run = this.ctx;
    const finishedAt = run.store.clock();
    return {
      runId: run.runId,
      district: run.district,
      source: run.source.kind,
      mode: run.mode,
      kind: run.kind,
      status,
      reason,
      startedAt: this.startedAt.toISOString(),
      finishedAt: finishedAt.toISOString(),
      durationMs: run.stats.timings.total ?? 0,
      counts: run.counts.entities,
      accounts: run.counts.accounts,
      pending,
      problems: run.reportProblems,
      problemCount: run.problemCount,
      stats: run.stats,
    };
  }
}

function asRunError(err: unknown): RostersyncError {
  if (isRostersyncError(err)) return err;
  return new RostersyncError('upstream', errorMessage(err), { cause: err });
}
