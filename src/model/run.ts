import type { Entity } from './entities.js';

export const RUN_STATUSES = ['running', 'succeeded', 'failed', 'held', 'rejected'] as const;
/**
 * - `running`: in progress (or interrupted: a crashed process leaves this until the next run)
 * - `succeeded`: every change applied
 * - `failed`: stopped by an infrastructure problem; what committed before stays, nothing was archived
 * - `held`: the safety valve stopped archives/deactivations; `runs approve` or `runs reject` resolves it
 * - `rejected`: a held run an operator rejected; its archives/deactivations were dropped
 */
export type RunStatus = (typeof RUN_STATUSES)[number];
export type RunMode = 'sync' | 'plan' | 'import';

export interface EntityCounts {
  created: number;
  updated: number;
  unchanged: number;
  archived: number;
  restored: number;
  skipped: number;
  /**
   * Records whose person came back under a new source id (same district key): the old record is
   * archived without touching the account, which follows the new record.
   */
  rekeyed: number;
}

export function emptyEntityCounts(): EntityCounts {
  return { created: 0, updated: 0, unchanged: 0, archived: 0, restored: 0, skipped: 0, rekeyed: 0 };
}

export interface AccountCounts {
  provisioned: number;
  linked: number;
  updated: number;
  deactivated: number;
  reactivated: number;
  /** Accounts moved to their person's new record (see EntityCounts.rekeyed); never deactivated. */
  rekeyed: number;
  /** Deactivations the safety valve held back. */
  held: number;
  conflicts: number;
  /** Records not provisioned by rule (e.g. a grade outside the contracted grades). */
  notProvisioned: number;
}

export function emptyAccountCounts(): AccountCounts {
  return {
    provisioned: 0,
    linked: 0,
    updated: 0,
    deactivated: 0,
    reactivated: 0,
    rekeyed: 0,
    held: 0,
    conflicts: 0,
    notProvisioned: 0,
  };
}

export interface RunCounts {
  entities: Record<Entity, EntityCounts>;
  accounts: AccountCounts;
}

export interface RunProblem {
  severity: 'error' | 'warning';
  /** The entity or file the problem is about (`students`, `students.csv`, …). */
  entity: string;
  /** Source id, or `line N` for files. Never a name or a date of birth. */
  recordId: string | null;
  field: string | null;
  reason: string;
}

/**
 * What a run measured. The source's counters (see SourceStats) are copied in flat at the end of the
 * run: the ones our sources have are named here.
 */
export interface RunStats {
  /** Requests the source made, and how many of them were retried. */
  requests: number;
  retries: number;
  /** Pages read, all streams together. */
  pages: number;
  /** Milliseconds per phase (`district`, each stream's name, `archive`, `total`). */
  timings: Record<string, number>;
  /** Records the source recognised unchanged by their bytes, without decoding them. */
  undecoded?: number;
  /** Unchanged records whose raw item hash was stored this run (see RecordsRepo.refreshRaw). */
  rawRefreshed?: number;
  /** Clever: requests answered with 429. */
  rateLimited?: number;
  /** CSV: data rows read. */
  rows?: number;
  /** Events syncs: events read from the feed. */
  events?: number;
}

export interface SyncRun {
  id: string;
  district: string;
  source: string;
  mode: RunMode;
  status: RunStatus;
  startedAt: string;
  finishedAt: string | null;
  heartbeatAt: string;
  reason: string | null;
  counts: RunCounts;
  stats: RunStats;
  problemCount: number;
  resolution: 'approved' | 'rejected' | null;
  resolvedAt: string | null;
  /** Which kind of sync the run was (`full` or `events`) and why; null for imports and older runs. */
  kind: { kind: SyncKind; reason: string } | null;
}

/** A full walk of every stream, or the changes since the event cursor (Clever's Events API). */
export type SyncKind = 'full' | 'events';
