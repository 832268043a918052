import type { Generated } from 'kysely';

/**
 * Row types of the database, as Kysely sees them. These are storage shapes (`DbStudent`-style, snake
 * case, JSON as text, booleans as 0/1, times as ISO-8601 text); the domain types live in src/model and
 * the mappers between the two live next to the queries.
 */

/** Columns shared by every roster record table. */
export interface DbRecordBase {
  district_id: string;
  source: string;
  source_id: string;
  /** Content hash of `data` (see model/hash.ts). */
  hash: string;
  /** Canonical JSON of the record's data. */
  data: string;
  archived_at: string | null;
  created_at: string;
  updated_at: string;
  /** The run that last created, changed, archived or restored the row. */
  run_id: string | null;
  /**
   * Clever: the hash of the bytes of the item the record was mapped from, when it was stored as
   * mapped; `scope_ids` what the filters look at, as JSON (see migrations/0005-raw-item-hash.ts).
   */
  raw_hash: string | null;
  scope_ids: string | null;
}

export interface DbSchool extends DbRecordBase {
  name: string;
  sis_id: string | null;
  state_id: string | null;
  school_number: string | null;
}
export type DbTerm = DbRecordBase;
export type DbCourse = DbRecordBase;
export interface DbSection extends DbRecordBase {
  school_id: string;
  term_id: string | null;
  course_id: string | null;
}
export interface DbStudent extends DbRecordBase {
  sis_id: string | null;
  state_id: string | null;
  student_number: string | null;
  email: string | null;
  school_id: string;
  grade: string | null;
}
export interface DbStaff extends DbRecordBase {
  sis_id: string | null;
  state_id: string | null;
  staff_id: string | null;
  teacher_number: string | null;
  email: string | null;
  /** Comma-joined sorted roles, e.g. `district_admin,teacher`. */
  roles: string;
}
export interface DbContact extends DbRecordBase {
  sis_id: string | null;
  email: string | null;
}

export interface DbSectionMember {
  district_id: string;
  source: string;
  section_id: string;
  role: string;
  user_id: string;
}

export interface DbContactStudent {
  district_id: string;
  source: string;
  contact_id: string;
  student_id: string;
  relationship: string | null;
  type: string | null;
}

export interface DbDistrict {
  id: string;
  name: string;
  clever_district_id: string | null;
  /** Canonical JSON of the District record from the source, when synced. */
  data: string | null;
  hash: string | null;
  /** District configuration (filters, keys, provisioning rules), JSON. */
  config: string;
  /** AES-256-GCM ciphertext of the district's Clever token (see store/secrets.ts). */
  token_ciphertext: string | null;
  token_key_id: string | null;
  created_at: string;
  updated_at: string;
}

export interface DbSyncRun {
  id: string;
  district_id: string;
  source: string;
  mode: string;
  status: string;
  started_at: string;
  finished_at: string | null;
  heartbeat_at: string;
  reason: string | null;
  /** Per-entity and per-account counts, JSON. */
  counts: string;
  /** Requests, retries, timings, JSON. */
  stats: string;
  problem_count: number;
  resolution: string | null;
  resolved_at: string | null;
  /** `full` or `events` (migration 0012); null for runs before it and for CSV imports. */
  sync_kind: string | null;
  sync_kind_reason: string | null;
}

/** Per district: the Events API cursor and the last full sync (migration 0012). */
export interface DbEventCursor {
  district_id: string;
  cursor: string | null;
  cursor_run_id: string | null;
  full_cursor: string | null;
  full_run_id: string | null;
  last_full_at: string | null;
  last_full_run_id: string | null;
  settings_stamp: string | null;
  updated_at: string;
}

export interface DbRunProblem {
  run_id: string;
  seq: number;
  severity: string;
  entity: string;
  record_id: string | null;
  field: string | null;
  reason: string;
}

export interface DbRunPendingArchive {
  run_id: string;
  entity: string;
  source: string;
  source_id: string;
}

export interface DbCheckpoint {
  district_id: string;
  source: string;
  stream: string;
  run_id: string;
  cursor: string | null;
  pages: number;
  records: number;
  complete: number;
  updated_at: string;
}

export interface DbSyncLock {
  district_id: string;
  run_id: string;
  owner: string;
  acquired_at: string;
  heartbeat_at: string;
}

export interface DbAccount {
  id: string;
  district_id: string;
  kind: string;
  status: string;
  origin: string;
  record_source: string | null;
  record_source_id: string | null;
  /** JSON PersonName. */
  name: string;
  email: string | null;
  roles: string;
  /** JSON Access or null. */
  access: string | null;
  created_at: string;
  updated_at: string;
  deactivated_at: string | null;
  title: string | null;
  state_hash: string | null;
  record_hash: string | null;
  derive_version: string | null;
  synced_hash: string | null;
  /** JSON array of `type:value` login identity tokens, sorted by type (migration 0003). */
  identities: string;
}

/** SQLite only (see DialectQueries.accountsByIdentity): the identities again, one row each, for lookups by value. */
export interface DbAccountIdentity {
  account_id: string;
  district_id: string;
  type: string;
  value: string;
}

export interface DbAccountChange {
  seq: Generated<number>;
  district_id: string;
  account_id: string;
  kind: string;
  fields: string;
  run_id: string | null;
  at: string;
}

export interface DbAccountOverride {
  district_id: string;
  key_type: string;
  key_value: string;
  fields: string;
  origin: string;
  updated_at: string;
}

export interface DbRunPendingDeactivation {
  run_id: string;
  account_id: string;
  kind: string;
  reason: string;
}

export interface DbRunPendingRekey {
  run_id: string;
  entity: string;
  source: string;
  new_id: string;
  old_id: string;
  account_id: string;
  account_kind: string;
}

export interface DbAccountFormerIdentity {
  account_id: string;
  district_id: string;
  type: string;
  value: string;
  run_id: string | null;
  at: string;
}

export interface DbWebhookEndpoint {
  id: string;
  url: string;
  secret_ciphertext: string;
  secret_key_id: string | null;
  enabled: number;
  cursor: number;
  attempts: number;
  next_attempt_at: string | null;
  last_error: string | null;
  created_at: string;
}

export interface DB {
  districts: DbDistrict;
  schools: DbSchool;
  terms: DbTerm;
  courses: DbCourse;
  sections: DbSection;
  students: DbStudent;
  staff: DbStaff;
  contacts: DbContact;
  section_members: DbSectionMember;
  contact_students: DbContactStudent;
  sync_runs: DbSyncRun;
  run_problems: DbRunProblem;
  run_pending_archives: DbRunPendingArchive;
  checkpoints: DbCheckpoint;
  event_cursors: DbEventCursor;
  sync_locks: DbSyncLock;
  accounts: DbAccount;
  account_identities: DbAccountIdentity;
  account_changes: DbAccountChange;
  account_overrides: DbAccountOverride;
  run_pending_deactivations: DbRunPendingDeactivation;
  run_pending_rekeys: DbRunPendingRekey;
  account_former_identities: DbAccountFormerIdentity;
  webhook_endpoints: DbWebhookEndpoint;
}

export type RecordTable = 'schools' | 'terms' | 'courses' | 'sections' | 'students' | 'staff' | 'contacts';
