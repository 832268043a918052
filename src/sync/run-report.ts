import { ENTITIES } from '../model/entities.js';
import type { Entity } from '../model/entities.js';
import { emptyAccountCounts, emptyEntityCounts } from '../model/run.js';
import type {
  AccountCounts,
  EntityCounts,
  RunCounts,
  RunMode,
  RunProblem,
  RunStats,
  RunStatus,
  SyncKind,
} from '../model/run.js';

/**
 * What every run returns and persists: status, timings, per-entity and account counts, problems
 * (record id, field, reason — never names or dates of birth), and source request counts.
 */
export interface RunReport {
  runId: string;
  district: string | null;
  source: string;
  mode: RunMode;
  /** Which kind of sync ran (`full` or `events`) and why; null for a source without an event feed. */
  kind: { kind: SyncKind; reason: string } | null;
  status: RunStatus;
  /** Why a run failed or was held; null when it succeeded. */
  reason: string | null;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  counts: Record<Entity, EntityCounts>;
  accounts: AccountCounts;
  /** For a held run: what it would archive per entity once approved. */
  pending: Partial<Record<Entity, number>>;
  /** The first problems of the run (all of them are in the store, up to its cap). */
  problems: RunProblem[];
  problemCount: number;
  stats: RunStats;
}

export function emptyRunCounts(): RunCounts {
  const entities = {} as Record<Entity, EntityCounts>;
  for (const e of ENTITIES) entities[e] = emptyEntityCounts();
  return { entities, accounts: emptyAccountCounts() };
}

export function emptyStats(): RunStats {
  return { requests: 0, retries: 0, pages: 0, timings: {} };
}

/** Process exit code for a run status: 0 succeeded, 2 held, 1 anything else. */
export function exitCodeFor(status: RunStatus): number {
  if (status === 'succeeded') return 0;
  if (status === 'held') return 2;
  return 1;
}

/** True when the run changed nothing (all records unchanged, nothing archived or restored). */
export function changedNothing(report: Pick<RunReport, 'counts'>): boolean {
  return Object.values(report.counts).every((c) => c.created + c.updated + c.archived + c.restored === 0);
}
