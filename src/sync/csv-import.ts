import type { School, SourceKind } from '../model/entities.js';
import type { Logger } from '../shared/logger.js';
import { RostersyncError } from '../shared/errors.js';
import { abortableSource } from '../sources/abortable-source.js';
import { CsvSource } from '../sources/csv/csv-source.js';
import type { Store } from '../store/store.js';
import { defaultDistrictConfig } from '../model/district-config.js';
import { deriveVersion, provisionBatch } from '../accounts/provision.js';
import type { AccountCounts } from '../model/run.js';
import { emptyAccountCounts } from '../model/run.js';
import type { RunReport } from './run-report.js';
import { runSync } from './run-sync.js';
import type { RunStep, SyncProgress } from './run-sync.js';

export interface CsvImportRequest {
  store: Store;
  dir: string;
  /** District id; default: the only district in the store, or `default` in an empty store. */
  district?: string;
  mode?: 'sync' | 'plan';
  logger?: Logger;
  lockStaleMs?: number;
  onProgress?: (p: SyncProgress) => void;
  /** Stops the import after its current batch (the service's shutdown); the next import finishes it. */
  signal?: AbortSignal;
}

/** The district a CSV drop belongs to when none is named. */
export async function resolveCsvDistrict(store: Store, district: string | undefined): Promise<string> {
  if (district) return district;
  const all = await store.districts.list();
  if (all.length === 1) return all[0]!.id;
  if (all.length === 0) return 'default';
  throw new RostersyncError(
    'config',
    `--district is required: the store holds ${all.length} districts (${all.map((d) => d.id).join(', ')})`,
  );
}

/**
 * Imports a folder of district CSV files (schools first) through the same pipeline as a Clever sync:
 * validate every file (a rejected file applies nothing), replace the district's staff_overrides.csv
 * overrides, reconcile records, provision accounts, and hold mass deactivations at the safety valve.
 */
export async function importCsv(req: CsvImportRequest): Promise<RunReport> {
  const { store } = req;
  const district = await resolveCsvDistrict(store, req.district);
  const row = await store.districts.get(district);
  const config = row?.config ?? defaultDistrictConfig();
  const knownSchools: Array<{ sourceId: string; school: School }> = [];
  for (let after: string | undefined; ;) {
    const page = await store.records.list({ district, source: 'csv' }, 'schools', {
      limit: 5000,
      ...(after ? { after } : {}),
    });
    if (page.length === 0) break;
    for (const s of page) knownSchools.push({ sourceId: s.sourceId, school: s.data });
    after = page[page.length - 1]!.sourceId;
  }
  // A district that moved to Clever stops sending CSV drops; a stray one must not undo the move.
  const onClever =
    config.csv.retireWhenOnClever &&
    (await store.records.count({ district, source: 'clever' }, 'schools')) > 0;
  const source = new CsvSource({
    dir: req.dir,
    districtName: row?.name ?? district,
    config,
    knownSchools,
    ...(onClever
      ? {
          refuseRoster: `district "${district}" is synced from Clever now; CSV roster drops are refused (staff_overrides.csv still works; set csv.retireWhenOnClever to false to roster some people by CSV)`,
        }
      : {}),
  });
  let valid = true;
  await source.validate().catch(() => (valid = false));
  const overrides = valid ? source.overrides : null;
  return runSync({
    store,
    source: abortableSource(source, req.signal),
    district,
    mode: req.mode ?? 'sync',
    // Under the district lock and after validation, before any record: the new overrides are what
    // this run's staff accounts are derived with; a run that never gets this far changes nothing.
    ...(overrides !== null
      ? {
          beforeStreams: (s: Store) =>
            s.overrides.replaceCsv(
              district,
              overrides.map((o) => ({ keyType: o.keyType, keyValue: o.keyValue, fields: o.fields })),
            ),
          afterStreams: async (run: RunStep) => {
            // staff_overrides.csv has no stream of its own: its warnings and skipped rows join the run here.
            await run.addProblems(source.overrideProblems);
            // New overrides without a new staff file: apply them to the staff accounts now, not next night.
            if (run.runId !== null && !source.files.includes('school_staff.csv'))
              run.countAccounts(await reprovisionStaff(run.store, run.district, run.runId));
          },
        }
      : {}),
    ...(req.logger ? { logger: req.logger } : {}),
    ...(req.lockStaleMs !== undefined ? { lockStaleMs: req.lockStaleMs } : {}),
    ...(req.onProgress ? { onProgress: req.onProgress } : {}),
  });
}

/**
 * Re-derives every active staff account of the district from its record (after an overrides change).
 * `runId` is the run doing it (under its district lock): account changes carry it, and accounts no
 * longer eligible wait for the run's safety valve like any other deactivation. Default null: none.
 */
export async function reprovisionStaff(
  store: Store,
  district: string,
  runId: string | null = null,
): Promise<AccountCounts> {
  const total = emptyAccountCounts();
  const config = (await store.districts.get(district))?.config ?? defaultDistrictConfig();
  const version = await deriveVersion(store, district, config);
  for (const source of ['clever', 'csv'] as SourceKind[]) {
    for (let after: string | undefined; ;) {
      const page = await store.records.list({ district, source }, 'staff', {
        limit: 2000,
        ...(after ? { after } : {}),
      });
      if (page.length === 0) break;
      const res = await store.transaction((tx) =>
        provisionBatch(tx, {
          runId,
          district,
          source,
          entity: 'staff',
          config,
          deriveVersion: version,
          records: page.map((r) => ({ sourceId: r.sourceId, data: r.data, hash: r.hash })),
        }),
      );
      for (const [k, v] of Object.entries(res.counts) as Array<[keyof AccountCounts, number]>) total[k] += v;
      after = page[page.length - 1]!.sourceId;
    }
  }
  return total;
}
