import type { AccountEntity, AccountFieldsOf } from '../model/account-fields.js';
import type { Entity, EntityData } from '../model/entities.js';
import type { PreparedRow, RawFingerprint } from '../store/encoding/prepared-row.js';
import { canonicalJson, jsonHash, upsertKind } from '../model/hash.js';
import type { StoredState } from '../model/hash.js';
import type { SourceRecord } from '../sources/source.js';
import { StoredOnlyRecord } from '../sources/stored-only.js';

/** A canonical record with its content hash and the JSON the hash was taken from. */
export interface NormalizedRecord<E extends Entity = Entity> {
  sourceId: string;
  data: EntityData[E];
  json: string;
  hash: string;
  /** Set on records reconcile found absent from the store (they are inserted, not upserted). */
  isNew?: boolean;
  /** From a source that has it (see SourceRecord.prepared): what a write needs, without reading `data`. */
  prepared?: PreparedRow | undefined;
  /** From a source that has them (see SourceRecord.accountData): the fields accounts derive from. */
  accountData?: AccountFieldsOf[AccountEntity] | undefined;
  /** From a source that sent it (see SourceRecord.fingerprint): the item's raw hash and the record's scope. */
  fingerprint?: RawFingerprint | undefined;
  /** Set when the source did not decode the record (see sources/stored-only.ts). */
  storedOnly?: StoredOnlyRecord | undefined;
}

export function normalise<E extends Entity>(sourceId: string, data: EntityData[E]): NormalizedRecord<E> {
  const json = canonicalJson(data);
  return { sourceId, data, json, hash: jsonHash(json) };
}

/**
 * A source record as sent, normalised: with the JSON and hash its source computed (see
 * SourceRecord.json) it is not read or hashed again; `data` stays lazy.
 */
export function asSent(rec: SourceRecord): NormalizedRecord {
  // Only the hash is checked here: reading `json` would decode it.
  const hash = rec.hash;
  if (hash === undefined) return normalise(rec.sourceId, rec.data);
  return new SentRecord(rec, hash, false);
}

/**
 * A record as its source sent it, everything but the id and hash read from the source record when
 * asked (an unchanged record is never decoded). A class, not an object literal with getters: one
 * shape, no closures per record.
 */
class SentRecord implements NormalizedRecord {
  readonly sourceId: string;
  constructor(
    private readonly rec: SourceRecord,
    readonly hash: string,
    readonly isNew: boolean,
  ) {
    this.sourceId = rec.sourceId;
  }

  get json(): string {
    return this.rec.json ?? canonicalJson(this.rec.data);
  }

  get data(): EntityData[Entity] {
    return this.rec.data;
  }

  get prepared(): PreparedRow | undefined {
    return this.rec.prepared;
  }

  get accountData(): AccountFieldsOf[AccountEntity] | undefined {
    return this.rec.accountData;
  }

  get fingerprint(): RawFingerprint | undefined {
    return this.rec.fingerprint;
  }

  get storedOnly(): StoredOnlyRecord | undefined {
    return this.rec instanceof StoredOnlyRecord ? this.rec : undefined;
  }

  /** The same record, marked new. */
  asNew(): SentRecord {
    return new SentRecord(this.rec, this.hash, true);
  }
}

export interface ChangeSet<E extends Entity = Entity> {
  /** New to the store; marked `isNew` (they are inserted, and have no account to look up). */
  created: NormalizedRecord<E>[];
  updated: NormalizedRecord<E>[];
  restored: NormalizedRecord<E>[];
  unchanged: string[];
  /** Source ids that appeared more than once in the batch; the first occurrence wins. */
  duplicates: string[];
  /** Every record once (first occurrences, in order; the created ones marked `isNew`). */
  records: NormalizedRecord<E>[];
}

/**
 * The pure heart of a sync: compares an incoming batch with the stored keys and hashes and says
 * what to write. Nothing here touches the database.
 */
export function reconcile<E extends Entity>(
  stored: ReadonlyMap<string, StoredState>,
  incoming: readonly NormalizedRecord<E>[],
): ChangeSet<E> {
  const out: ChangeSet<E> = {
    created: [],
    updated: [],
    restored: [],
    unchanged: [],
    duplicates: [],
    records: [],
  };
  const seen = new Set<string>();
  for (const incomingRec of incoming) {
    if (seen.has(incomingRec.sourceId)) {
      out.duplicates.push(incomingRec.sourceId);
      continue;
    }
    seen.add(incomingRec.sourceId);
    const kind = upsertKind(stored.get(incomingRec.sourceId), incomingRec.hash);
    const rec = kind === 'created' ? markedNew(incomingRec) : incomingRec;
    out.records.push(rec);
    if (kind === 'unchanged') out.unchanged.push(rec.sourceId);
    else out[kind].push(rec);
  }
  return out;
}

/**
 * A created record, marked new. Built field by field: spreading would read a lazy `data` (and is
 * slow for an object with a getter); the copy keeps it lazy.
 */
function markedNew<E extends Entity>(r: NormalizedRecord<E>): NormalizedRecord<E> {
  if (r instanceof SentRecord) return r.asNew() as unknown as NormalizedRecord<E>;
  return {
    sourceId: r.sourceId,
    json: r.json,
    hash: r.hash,
    isNew: true,
    get data() {
      return r.data;
    },
  };
}

/**
 * Ids stored as active in a range that the source no longer sends: the archive candidates of one
 * page of an ordered stream (or of a whole unordered stream). `keep` holds ids present this run,
 * whether they were stored, filtered out on purpose (not kept) or invalid (kept: bad input never
 * archives).
 */
export function absentIds(storedActive: readonly string[], keep: ReadonlySet<string>): string[] {
  return storedActive.filter((id) => !keep.has(id));
}

/**
 * Compares two ids in UTF-8 byte order (the same as code point order), the order the store's id
 * columns sort in (see the dialects' idColumn, store/dialect/). JavaScript's `<` compares UTF-16 code units,
 * which puts characters above U+FFFF (surrogate pairs) before U+E000–U+FFFF; this corrects that.
 */
export function compareIds(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    if (x >= 0xd800) x += x >= 0xe000 ? -0x800 : 0x2000;
    if (y >= 0xd800) y += y >= 0xe000 ? -0x800 : 0x2000;
    return x - y;
  }
  return a.length - b.length;
}

/** True when `id` lies in the page range `(after, upTo]` (null bounds are open), in store order. */
export function inRange(id: string, after: string | null, upTo: string | null): boolean {
  return (after === null || compareIds(id, after) > 0) && (upTo === null || compareIds(id, upTo) <= 0);
}
