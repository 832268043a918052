// The public API of rostersync (`import … from 'rostersync'`): what an application embedding the
// engine needs, and what the CLI commands themselves compose. Everything else under src/ is internal
// and may change in any release: decoders, bulk writers, reconcile, provisioning internals and the
// store's row types. The README's "Use it as a library" section lists these exports, and
// test/public-api.test.ts keeps the two in step. The Clever simulator is `rostersync/simulator`.
//
// Importing this module has no side effects: configuration, database, logger and clock are passed in.

// Configuration and logging.
export { loadConfig } from './config.js';
export type { Config, LoadConfigOptions } from './config.js';
export { createLogger, silentLogger } from './shared/logger.js';
export type { Logger } from './shared/logger.js';

// Errors: one class with a stable `code`; per-record problems are report data, never errors.
export { isRostersyncError, RostersyncError } from './shared/errors.js';
export type { ErrorCode } from './shared/errors.js';

// The store (SQLite file or postgres:// URL) and the key that encrypts stored secrets.
export { Store } from './store/store.js';
export type { StoreOptions } from './store/store.js';
export { SecretBox } from './store/secrets.js';
export type { StoredAccount } from './model/stored-account.js';
export type { DistrictRow } from './store/queries/districts.js';
export type { WebhookEndpoint } from './store/queries/webhooks.js';

// Running a sync: from Clever (configured), from a CSV drop, or from any source through runSync.
// Each takes `mode: 'plan'` to compute the same report while writing nothing.
export { syncFromClever } from './sync/clever-sync.js';
export type { CleverSyncRequest } from './sync/clever-sync.js';
export { importCsv, resolveCsvDistrict } from './sync/csv-import.js';
export type { CsvImportRequest } from './sync/csv-import.js';
export { exportCsv } from './sync/csv-export.js';
export type { ExportResult } from './sync/csv-export.js';
export { DropFolder } from './sync/drop-folder.js';
export type { DropFolderOptions, ProcessedDrop } from './sync/drop-folder.js';
export { runSync } from './sync/run-sync.js';
export type { RunSyncOptions, SyncProgress } from './sync/run-sync.js';
export { CleverSource } from './sources/clever/clever-source.js';
export type { CleverSourceOptions } from './sources/clever/clever-source.js';
export { CsvSource } from './sources/csv/csv-source.js';
export type { CsvSourceOptions } from './sources/csv/csv-source.js';
export type { Source } from './sources/source.js';

// Run reports, held runs (the safety valve) and status.
export { changedNothing, exitCodeFor } from './sync/run-report.js';
export type { RunReport } from './sync/run-report.js';
export { approveRun, rejectRun } from './sync/run-control.js';
export { getStatus } from './sync/status.js';
export type { DistrictStatus, DistrictTotals, Status } from './sync/status.js';

// Accounts made by hand, staff overrides, and the change feed's webhooks. The feed itself is read
// with `store.accounts.changesAfter(seq)`, the accounts with `store.accounts.list(…)`.
export { createManualAccount, removeAccountOverride, setAccountOverride } from './accounts/manual.js';
export type { ManualAccountInput } from './accounts/manual.js';
export {
  deliverUntilIdle,
  deliverWebhooks,
  SIGNATURE_HEADER,
  signWebhook,
  TIMESTAMP_HEADER,
  verifyWebhookSignature,
} from './accounts/webhooks.js';
export type { DeliveryOptions, DeliveryRound } from './accounts/webhooks.js';

// The model: canonical entities, accounts, runs and per-district settings.
export {
  ACCESS_TYPES,
  ACCOUNT_KINDS,
  defaultDistrictConfig,
  districtConfigSchema,
  ENTITIES,
  GRADES,
  RUN_STATUSES,
  STAFF_ROLES,
} from './model/index.js';
export type {
  Access,
  AccessType,
  Account,
  AccountChange,
  AccountChangeKind,
  AccountCounts,
  AccountKind,
  AccountOrigin,
  AccountStatus,
  Contact,
  Course,
  District,
  DistrictConfig,
  DistrictConfigInput,
  Entity,
  EntityCounts,
  Grade,
  IdentityType,
  PersonName,
  RunCounts,
  RunMode,
  RunProblem,
  RunStats,
  RunStatus,
  School,
  SchoolFilter,
  Section,
  SourceKind,
  Staff,
  StaffRole,
  Student,
  SyncRun,
  Term,
} from './model/index.js';
