import type { AccountEntity, AccountFieldsOf } from '../model/account-fields.js';
import type { District, Entity, EntityData, SourceKind } from '../model/entities.js';
import type { KnownState } from '../model/hash.js';
import type { PreparedRow, RawFingerprint } from '../store/encoding/prepared-row.js';
import type { RunProblem } from '../model/run.js';

/**
 * The source port. A source (Clever, CSV) exposes its district and a set of streams; each stream
 * yields pages of canonical records. The sync core never knows which source it is talking to.
 */

export interface SourceRecord<E extends Entity = Entity> {
  entity: E;
  sourceId: string;
  data: EntityData[E];
  /**
   * Optional, from a source that decodes ahead (see clever/page-decoder.ts): the canonical JSON of
   * `data` and its content hash, and what the school filter and the contact filter look at. With
   * them the sync can keep, compare and skip an unchanged record without reading `data`.
   */
  json?: string | undefined;
  hash?: string | undefined;
  /** Students and staff: `schoolIds`; sections: `[schoolId]`. */
  schoolIds?: readonly string[] | undefined;
  /** Contacts: the student ids of its relationships. */
  studentIds?: readonly string[] | undefined;
  /**
   * Optional, from the same kind of source: what writing the record takes (its JSON as UTF-8 bytes,
   * and when asked for, see PageOptions.forWriting, its indexed values and link rows or its rows as
   * COPY text), built by the store's own encoder (see store/encoding/prepared-row.ts), so the record
   * can be written without reading `data`. Opaque here: only the store reads it.
   */
  prepared?: PreparedRow | undefined;
  /**
   * Optional, from the same kind of source, for students and staff: the fields of `data` their
   * account is derived from (see model/account-fields.ts), cheaper to read than `data` itself.
   */
  accountData?: AccountFieldsOf[AccountEntity] | undefined;
  /**
   * Optional, from a source that can recognise an unchanged item by its bytes (see
   * PageOptions.known), for a record mapped exactly as sent: the raw hash of its item and its filter
   * scope, stored with it (see store/encoding/prepared-row.ts RawFingerprint).
   */
  fingerprint?: RawFingerprint | undefined;
}

export interface SourcePage {
  /** Records mapped from this page (not yet filtered). */
  records: SourceRecord[];
  /**
   * Ids present in the source that could not be mapped. They are reported, and a record stored
   * under such an id is left as it was: bad input never deactivates anyone.
   */
  invalidIds: string[];
  /** Per-record problems: skipped records (errors) and dropped fields (warnings). */
  problems: RunProblem[];
  /** Records skipped that have no readable id at all (e.g. a CSV row with no key). */
  skipped?: number;
  /**
   * For ordered streams: the last source id this page covers. Pages of an ordered stream cover
   * consecutive ranges `(previous cursor, cursor]` of ascending ids.
   */
  cursor: string | null;
}

export interface SourceStream {
  /** Stream name, used in checkpoints, progress and timings (`schools`, `users:student`, …). */
  name: string;
  /** The entities whose stored records this stream is the complete snapshot of. */
  entities: Entity[];
  /** Pages come in ascending source-id order (enables page-by-page absence detection, flat memory). */
  ordered: boolean;
  /** Streams that must have finished first (their records are needed to filter this one). */
  dependsOn: string[];
  pages(opts?: PageOptions): AsyncIterable<SourcePage>;
}

/** What the sync tells a stream before reading it. */
export interface PageOptions {
  /**
   * Nothing of the stream's entities is stored yet, so every record will be written: a source that
   * can prepare records for writing (see SourceRecord.prepared) should. Otherwise most records of a
   * nightly sync are unchanged and such work is wasted.
   */
  forWriting?: boolean;
  /**
   * With `forWriting`: the store bulk-loads rows as COPY text (PostgreSQL), so a source prepares
   * each record's rows in that form (PreparedForm `lines`) instead of as values.
   */
  rowText?: boolean;
  /**
   * For a stream whose records are stored already (a re-sync): the stored state of the given ids,
   * with the raw hashes of the items they were mapped from (see KnownState). A source that can
   * hash an item's bytes asks for it before decoding a page; an item whose raw hash is stored with
   * an active record is not decoded at all, and comes as a StoredOnlyRecord (see stored-only.ts).
   */
  known?: (entity: Entity, ids: readonly string[]) => Promise<Map<string, KnownState>>;
}

export interface SourceDistrict {
  /** The district's id at the source (the Clever district id), or null (CSV). */
  sourceDistrictId: string | null;
  data: District;
}

export interface SourceStats {
  requests: number;
  retries: number;
  [key: string]: number;
}

export interface Source {
  readonly kind: SourceKind;
  /** Reads the district (for Clever, also the token's health check). */
  district(): Promise<SourceDistrict>;
  /**
   * Checks the whole input before anything is written (CSV: every file). Throws an `input` error
   * when it must be rejected as a whole; the run then fails with that reason and applies nothing.
   */
  validate?(): Promise<void>;
  streams(): SourceStream[];
  /**
   * The source's feed of changes (Clever's Events API), for an incremental sync; absent or null for
   * a source that has none (CSV). See EventFeed.
   */
  events?(): EventFeed | null;
  stats(): SourceStats;
  close(): Promise<void>;
}

/** One change read from an event feed, mapped as a full walk maps the same record. */
export type SourceChange =
  | {
      kind: 'upsert';
      record: SourceRecord;
      /**
       * Sections: the members (student and teacher ids) an update added, read from its previous
       * attributes; absent when not known (a created section: every member is new).
       */
      newMembers?: readonly string[];
    }
  /** The record is gone from the source: archived if it is stored and active, else nothing. */
  | { kind: 'delete'; entity: Entity; sourceId: string }
  | { kind: 'district'; data: District };

export interface EventPage {
  /** The page's changes, in feed order (one event may give several: a user's records per entity). */
  changes: SourceChange[];
  /** Events that could not be used (unknown types, unmappable records): reported, never fatal. */
  problems: RunProblem[];
  /** The id of the page's last event: where the feed is read from next. */
  cursor: string;
  /** Events on the page. */
  events: number;
}

/**
 * A source's feed of changes, oldest first. Its cursor is an event id ('' = the start of the feed).
 * The feed keeps a limited window (Clever: 30 days): a cursor that left it is gone, and reading after
 * it would silently skip changes, so callers check it with `has` first.
 */
export interface EventFeed {
  /**
   * A stamp of what the feed is read with (a hash of the token, not the token): a district read
   * with another one is synced in full before its events are trusted.
   */
  readonly stamp: string;
  /**
   * The newest event's id ('' when the feed is empty). Throws a RostersyncError with code
   * `not_found` or `auth` when the feed is not enabled for the app.
   */
  newest(): Promise<string>;
  /** Whether the event is still in the feed. */
  has(id: string): Promise<boolean>;
  /** The events after `cursor` ('' = from the start), page by page. */
  pages(cursor: string): AsyncIterable<EventPage>;
  /** The schools shared right now: the school filter of an events sync needs every one of them. */
  schools(): Promise<{ records: SourceRecord[]; invalidIds: string[] }>;
}
