import { hash } from 'node:crypto';

/**
 * JSON with object keys sorted at every level, `undefined` members dropped, arrays kept in order.
 * Two records with the same content always give the same text, whatever order a source sent their
 * fields in, so the hash of this text is a cheap "did anything change" test.
 */
export function canonicalJson(value: unknown): string {
  // Fast path: the mappers build objects with keys already in sorted order, so most records can go
  // straight to the native JSON.stringify once that is confirmed (a walk is much cheaper than a copy).
  if (isCanonical(value)) return JSON.stringify(value);
  return slowCanonicalJson(value);
}

/** True when every object in `value` has its keys in sorted order and no undefined members. */
function isCanonical(value: unknown): boolean {
  if (value === null || typeof value !== 'object') return value !== undefined;
  if (Array.isArray(value)) {
    for (const v of value) if (v === undefined || !isCanonical(v)) return false;
    return true;
  }
  let prev: string | null = null;
  for (const k in value) {
    if (prev !== null && prev >= k) return false;
    const v = (value as Record<string, unknown>)[k];
    if (v === undefined || !isCanonical(v)) return false;
    prev = k;
  }
  return true;
}

function slowCanonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    return value === undefined ? 'null' : JSON.stringify(value);
  }
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out += ',';
      out += slowCanonicalJson(value[i]);
    }
    return out + ']';
  }
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj).sort();
  let out = '{';
  let first = true;
  for (const k of keys) {
    const v = obj[k];
    if (v === undefined) continue;
    if (!first) out += ',';
    first = false;
    out += JSON.stringify(k) + ':' + slowCanonicalJson(v);
  }
  return out + '}';
}

/**
 * Content hash of a record's data: SHA-1 of its canonical JSON, base64url, 27 characters.
 * SHA-1 is used as a change detector, not for security; it is the fastest digest node:crypto offers
 * and collisions between two versions of one record are not a practical concern.
 */
export function contentHash(value: unknown): string {
  return jsonHash(canonicalJson(value));
}

/**
 * {@link contentHash} of a value whose canonical JSON is already at hand, as text or as its UTF-8
 * bytes (the same hash: a string is hashed as UTF-8).
 */
export function jsonHash(canonical: string | Uint8Array): string {
  // The one-shot digest: about twice as fast as a Hash object for strings this short.
  return hash('sha1', canonical, 'base64url');
}

/** What a stored row looks like to the reconcile step: its hash and whether it is archived. */
export interface StoredState {
  hash: string;
  archived: boolean;
  /** The raw hash of the item the record was mapped from, where the read asked for it (see KnownState). */
  raw?: string | null;
}

/**
 * A stored record's state with what recognises its source item unchanged by its bytes (see
 * PageOptions.known): the item's raw hash and the record's filter scope as JSON, or nulls.
 */
export interface KnownState extends StoredState {
  raw: string | null;
  scope: string | null;
}

export type UpsertKind = 'created' | 'updated' | 'unchanged' | 'restored';

/**
 * How an incoming record relates to what is stored: new, changed, the same, or back after being
 * archived (a restore also applies any change in the same write).
 */
export function upsertKind(stored: StoredState | undefined, hash: string): UpsertKind {
  if (!stored) return 'created';
  if (stored.archived) return 'restored';
  return stored.hash === hash ? 'unchanged' : 'updated';
}
