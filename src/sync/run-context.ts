import { DecisionOrder } from '../accounts/decision-order.js';
import type { ProvisionRecord } from '../accounts/provision-batch.js';
import type { WaitingClaim } from '../accounts/rekey.js';
import type { RunIdentities } from '../accounts/run-identities.js';
import type { DistrictConfig } from '../model/district-config.js';
import type { Entity } from '../model/entities.js';
import type { RunMode, RunProblem, SyncKind } from '../model/run.js';
import type { RostersyncError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import type { Source } from '../sources/source.js';
import type { RecordScope } from '../store/queries/records.js';
import type { Store } from '../store/store.js';
import type { SchoolScope } from './filter.js';
import { PlannerStatistics } from './planner-statistics.js';
import { emptyRunCounts, emptyStats } from './run-report.js';
import type { RunLedger } from './run-ledger.js';

export interface SyncProgress {
  stream: string;
  pages: number;
  records: number;
  done: boolean;
}

/**
 * What the parts of one run share: the run's identity, the district as the run found it at its
 * start, and what the run has counted so far. The district's fields are set once the run has
 * attached the district (see run-sync.ts), before any stream is read.
 */
export class RunContext {
  readonly counts = emptyRunCounts();
  readonly stats = emptyStats();
  /** The first problems of the run, for its report (all of them are stored). */
  readonly reportProblems: RunProblem[] = [];
  problemCount = 0;
  /** The district's id once known (a run that fails before has none). */
  district: string | null = null;
  config!: DistrictConfig;
  scope!: SchoolScope;
  deriveVersion = '';
  /** Identities written this run, when the district had no accounts at its start (see RunIdentities). */
  known: RunIdentities | null = null;
  /** See ProvisionBatch.noGuardianAccounts. */
  noGuardianAccounts = false;
  /** Where streams commit side by side: the order in which batches decide accounts (see DecisionOrder). */
  readonly decisions = new DecisionOrder();
  /** The first infrastructure failure: no stream starts or reads a page after it. */
  failure: RostersyncError | null = null;
  /**
   * Per entity, claims waiting for the end of their stream, or in an events sync for a later batch
   * of the run that deletes their old record (see accounts/rekey.ts and sync/rekeys.ts).
   */
  readonly waiting = new Map<Entity, Array<WaitingClaim & { record: ProvisionRecord }>>();
  /** Streams that returned no records at all, by entity (see the safety valve). */
  readonly emptied = new Set<Entity>();
  readonly statistics = new PlannerStatistics(this);
  /** Full or events, and why (see sync-kind.ts); null for a source without an event feed. */
  kind: { kind: SyncKind; reason: string } | null = null;
  /** Keeps what the run does, or only records it (plan mode): set by the run before it starts. */
  ledger!: RunLedger;

  constructor(
    readonly store: Store,
    readonly source: Source,
    readonly mode: RunMode,
    readonly runId: string,
    readonly logger: Logger,
    /** Problems kept in the report. */
    private readonly reportLimit: number,
    readonly onProgress: ((p: SyncProgress) => void) | undefined,
  ) {}

  recordScope(): RecordScope {
    return { district: this.district!, source: this.source.kind };
  }

  /** Counts problems for the report (the ledger stores them). */
  noteProblems(problems: readonly RunProblem[]): void {
    this.problemCount += problems.length;
    const room = this.reportLimit - this.reportProblems.length;
    if (room > 0) this.reportProblems.push(...problems.slice(0, room));
  }
}
