import { join } from 'node:path';
import type { Config } from '../config.js';
import { errorMessage, isRostersyncError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import { fetchDistrictTokens } from '../sources/clever-app-tokens.js';
import type { SecretBox } from '../store/secrets.js';
import type { RunRequestOrigin } from '../store/queries/service.js';
import type { Store } from '../store/store.js';
import { syncFromClever } from '../sync/clever-sync.js';
import { DropFolder } from '../sync/drop-folder.js';
import type { ProcessedDrop } from '../sync/drop-folder.js';
import type { RunReport } from '../sync/run-report.js';
import type { ServiceMetrics } from './service-metrics.js';

export interface DistrictJobDeps {
  store: Store;
  config: Config;
  logger: Logger;
  /** The key of stored tokens; asked for only when a token is read or stored. */
  secretBox: () => SecretBox;
  metrics?: ServiceMetrics;
  /** Aborted when the process stops: the run stops between pages and is finished by the next one. */
  signal?: AbortSignal;
}

export interface DistrictJob {
  district: string;
  origin: RunRequestOrigin;
  /**
   * When the job was asked for (ISO-8601). A queue delivers a job at least once: pg-boss hands an
   * expired job to another worker even when its first run went on to succeed. A run of the district
   * that started after this moment and succeeded (or was held) has done what the job asked for, so
   * the job is skipped instead of syncing the district twice in one tick.
   */
  askedAt?: string;
}

export interface DistrictJobResult {
  /** The run's status, or `skipped` when no run was started (see reason). */
  status: RunReport['status'] | 'skipped';
  runId: string | null;
  reason: string | null;
  /**
   * A failure that may pass by itself (Clever 5xx or unreachable, rate limits, another process
   * holding the district, this process stopping): worth retrying later. A rejected token, a held
   * run or bad settings are not.
   */
  transient: boolean;
}

const TRANSIENT = ['upstream:', 'rate_limited:', 'conflict:', 'cancelled:'];

function skipped(reason: string, transient = false): DistrictJobResult {
  return { status: 'skipped', runId: null, reason, transient };
}

/**
 * One job: one run of one district, the same for the embedded and the distributed runner, the
 * schedule and a person's ask. Everything is read from the store when it starts, so it can run
 * (and be retried) anywhere. It never throws for a failed run; the result says what happened.
 *
 * - A job asked for before a run that has since succeeded (a queue's redelivery) is skipped.
 * - A district marked "needs attention" (its token was rejected) is skipped when the schedule asks;
 *   a person's ask clears the mark and tries again.
 * - With the app's credentials (`clever.clientId`/`clientSecret`), the district's current token is
 *   fetched from Clever first and stored encrypted; otherwise the stored token is used, then
 *   `clever.token`.
 * - A run rejected by Clever (401/403), or a district the app no longer has a token for, marks the
 *   district "needs attention".
 * - A CSV district (one with a drop folder) never syncs from Clever: its run imports the drop waiting
 *   in its folder's automated/, if there is one (see runCsvDrop).
 */
export async function runDistrictJob(deps: DistrictJobDeps, job: DistrictJob): Promise<DistrictJobResult> {
  const { store, config, logger } = deps;
  const log = logger.child({ district: job.district, origin: job.origin });
  const row = await store.districts.get(job.district);
  if (!row) return done(deps, skipped(`not_found: district ${job.district} does not exist`));
  if (job.askedAt !== undefined) {
    const askedAt = job.askedAt;
    const since = (await store.runs.list({ district: job.district, limit: 5 })).find(
      (r) => r.startedAt >= askedAt && (r.status === 'succeeded' || r.status === 'held'),
    );
    if (since)
      return done(deps, skipped(`already run: run ${since.id} started after this job was asked for`));
  }
  const service = await store.service.get(job.district);
  if (service?.attention) {
    if (job.origin !== 'manual') {
      log.info('district needs attention; the schedule skips it until its settings change or a person asks');
      return done(deps, skipped(`needs attention: ${service.attention}`));
    }
    await store.service.clearAttention(job.district);
  }
  if (service?.csvFolder) return runCsvDrop(deps, job.district, service.csvFolder, log);

  let token: string | null = null;
  const c = config.clever;
  if (c.clientId && c.clientSecret && row.cleverDistrictId) {
    let listed;
    try {
      listed = await fetchDistrictTokens(
        { baseUrl: c.url, clientId: c.clientId, clientSecret: c.clientSecret, timeoutMs: c.timeoutMs },
        row.cleverDistrictId,
      );
    } catch (err) {
      const reason = isRostersyncError(err) ? `${err.code}: ${errorMessage(err)}` : errorMessage(err);
      // The app's own credentials being rejected is the operator's to fix, not this district's.
      log.warn({ reason }, 'could not fetch the district token');
      return done(deps, skipped(reason, !isRostersyncError(err, 'auth')));
    }
    const found = listed.find((t) => t.cleverDistrictId === row.cleverDistrictId);
    if (!found) {
      const reason = 'auth: the district no longer authorises the app (Clever lists no token for it)';
      await store.service.markAttention(job.district, reason);
      return done(deps, skipped(reason));
    }
    token = found.token;
    const box = deps.secretBox();
    if ((await store.districts.getToken(job.district, box)) !== token)
      await store.districts.setToken(job.district, token, box);
  } else if (row.hasToken) {
    token = await store.districts.getToken(job.district, deps.secretBox());
  }
  token ??= c.token ?? null;
  if (!token) {
    return done(
      deps,
      skipped(
        'config: no Clever token for the district (store one with `districts set-token`, or configure clever.clientId/clientSecret)',
      ),
    );
  }

  deps.metrics?.runStarted();
  let report: RunReport;
  try {
    report = await syncFromClever({
      store,
      config,
      logger: log,
      token,
      district: job.district,
      mode: 'sync',
      // Scheduled and requested runs pick full or events themselves (see sync/sync-kind.ts).
      kind: 'auto',
      ...(deps.signal ? { signal: deps.signal } : {}),
    });
  } finally {
    deps.metrics?.runEnded();
  }
  deps.metrics?.observe(report);
  if (report.status === 'failed' && report.reason?.startsWith('auth:'))
    await store.service.markAttention(job.district, report.reason);
  log.info(
    {
      runId: report.runId,
      status: report.status,
      durationMs: report.durationMs,
      kind: report.kind?.kind,
      why: report.kind?.reason,
    },
    'district run ended',
  );
  return {
    status: report.status,
    runId: report.runId,
    reason: report.reason,
    transient: report.status === 'failed' && TRANSIENT.some((p) => report.reason?.startsWith(p) === true),
  };
}

/**
 * A CSV district's run: imports the settled drop in `folder`/automated/ the way `watch-csv` does
 * (processing/, then archive/ with the result beside the files). A drop still being written, or
 * none, is skipped; the watcher in `serve` asks again once it settles. A failed import is not
 * transient: its files are archived with the reason, and a retry would find nothing to import.
 */
async function runCsvDrop(
  deps: DistrictJobDeps,
  district: string,
  folder: string,
  log: Logger,
): Promise<DistrictJobResult> {
  const drop = new DropFolder({
    root: folder,
    store: deps.store,
    district,
    logger: log,
    settleMs: deps.config.service.csvSettleMs,
    lockStaleMs: deps.config.sync.lockStaleMs,
  });
  try {
    await drop.init();
    const waiting = await drop.waiting();
    if (!waiting) return done(deps, skipped(`no CSV drop waiting in ${join(folder, 'automated')}`));
    if (!waiting.settled)
      return done(deps, skipped(`the CSV drop in ${join(folder, 'automated')} is still being written`));
  } catch (err) {
    return done(deps, skipped(`config: CSV drop folder ${folder}: ${errorMessage(err)}`));
  }
  deps.metrics?.runStarted();
  let processed: ProcessedDrop | null;
  try {
    processed = await drop.takeSettled(deps.signal);
  } catch (err) {
    // The drop could not be imported at all (it is archived with the reason); no run report.
    const reason = isRostersyncError(err) ? `${err.code}: ${errorMessage(err)}` : errorMessage(err);
    log.warn({ reason }, 'CSV drop failed');
    return { status: 'failed', runId: null, reason, transient: false };
  } finally {
    deps.metrics?.runEnded();
  }
  if (!processed) return done(deps, skipped(`no CSV drop waiting in ${join(folder, 'automated')}`));
  const report = processed.report;
  deps.metrics?.observe(report);
  if (processed.interrupted) {
    log.info(
      { runId: report.runId, files: processed.files },
      'CSV drop stopped; it waits in automated/ for the next run',
    );
    return { status: report.status, runId: report.runId, reason: report.reason, transient: false };
  }
  log.info(
    { runId: report.runId, status: report.status, files: processed.files, archive: processed.folder },
    'CSV drop imported',
  );
  return { status: report.status, runId: report.runId, reason: report.reason, transient: false };
}

function done(deps: DistrictJobDeps, r: DistrictJobResult): DistrictJobResult {
  deps.metrics?.skipped();
  return r;
}
