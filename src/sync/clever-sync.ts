import type { Config } from '../config.js';
import type { SchoolFilter } from '../model/district-config.js';
import type { Logger } from '../shared/logger.js';
import { abortableSource } from '../sources/abortable-source.js';
import { CleverSource } from '../sources/clever/clever-source.js';
import type { Store } from '../store/store.js';
import type { RunReport } from './run-report.js';
import { runSync } from './run-sync.js';
import type { RunSyncOptions, SyncProgress } from './run-sync.js';
import type { SyncKindRequest } from './sync-kind.js';

export interface CleverSyncRequest {
  store: Store;
  config: Config;
  logger: Logger;
  /** Token for this run; default `config.clever.token`. */
  token?: string;
  mode?: 'sync' | 'plan';
  /** Full (default), events, or `auto` (what the CLI and scheduled runs ask for): see RunSyncOptions.kind. */
  kind?: SyncKindRequest;
  district?: string;
  onProgress?: (p: SyncProgress) => void;
  /** Test knob: first retry backoff (ms). */
  retryBaseMs?: number;
  /** Stops the run between pages (the service's shutdown); what committed stays, the next run finishes. */
  signal?: AbortSignal;
  /** Plan mode: plan with this school filter instead of the district's (see RunSyncOptions). */
  schoolFilter?: SchoolFilter | null;
}

/** Composes a Clever source from configuration and runs one sync (or plan) of its district. */
export async function syncFromClever(req: CleverSyncRequest): Promise<RunReport> {
  const token = req.token ?? req.config.clever.token;
  const c = req.config.clever;
  const source = new CleverSource({
    baseUrl: c.url,
    token: token ?? '',
    apiVersion: c.apiVersion,
    pageSize: c.pageSize,
    requestsPerMinute: c.requestsPerMinute,
    concurrency: c.concurrency,
    timeoutMs: c.timeoutMs,
    maxRetries: c.maxRetries,
    ...(c.maxRetryTimeMs !== undefined ? { maxRetryTimeMs: c.maxRetryTimeMs } : {}),
    decodeInWorker: c.decodeInWorker,
    logger: req.logger,
    ...(req.retryBaseMs !== undefined ? { retryBaseMs: req.retryBaseMs } : {}),
  });
  try {
    const opts: RunSyncOptions = {
      store: req.store,
      source: abortableSource(source, req.signal),
      mode: req.mode ?? 'sync',
      logger: req.logger,
      lockStaleMs: req.config.sync.lockStaleMs,
      kind: req.kind ?? 'full',
      fullSyncEveryDays: req.config.sync.fullSyncEveryDays,
    };
    if (req.district !== undefined) opts.district = req.district;
    if (req.onProgress) opts.onProgress = req.onProgress;
    if (req.schoolFilter !== undefined) opts.schoolFilter = req.schoolFilter;
    return await runSync(opts);
  } finally {
    await source.close();
  }
}
