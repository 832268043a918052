import { parseJsonBytes, parseJsonBytesDeferred, utf8Text } from './json-bytes.js';

/**
 * Clever list bodies: the envelope, its next link, and a body's bytes to items. Kept apart from the
 * HTTP client so that the decoder worker (page-worker.ts) loads only this, not undici and the rest:
 * that is why it sits in decode/, which the HTTP client (http/) imports and which imports nothing
 * from http/.
 */

interface CleverLink {
  rel: string;
  uri: string;
}

export interface CleverListPage {
  /** The `data` objects of the page's items, in order. */
  items: Record<string, unknown>[];
  /** The `next` link (relative URI), or null on the last page. */
  next: string | null;
  /**
   * From decodeListBody asked to defer: the items' strings are not decoded yet; each must go through
   * utf8Text before use (see json-bytes.ts parseJsonBytesDeferred). The `next` link is decoded.
   */
  latin1?: boolean;
}

/** The list envelope's items and next link, or what is wrong with it. */
export function readListEnvelope(body: unknown): CleverListPage | string {
  if (body === null || typeof body !== 'object') return 'response is not an object';
  const { data, links } = body as { data?: unknown; links?: unknown };
  if (!Array.isArray(data)) return 'response has no "data" list';
  const items: Record<string, unknown>[] = [];
  for (const [i, item] of data.entries()) {
    const inner = item !== null && typeof item === 'object' ? (item as { data?: unknown }).data : undefined;
    if (inner === null || typeof inner !== 'object' || Array.isArray(inner))
      return `item ${i} has no "data" object`;
    items.push(inner as Record<string, unknown>);
  }
  return { items, next: nextLink(links) };
}

/** The `next` link of a list's `links`, or null. */
export function nextLink(links: unknown): string | null {
  let next: string | null = null;
  if (Array.isArray(links)) {
    for (const l of links as unknown[]) {
      if (
        l &&
        typeof l === 'object' &&
        (l as CleverLink).rel === 'next' &&
        typeof (l as CleverLink).uri === 'string'
      ) {
        next = (l as CleverLink).uri;
      }
    }
  }
  return next;
}

/**
 * A list body's next link, read from its last bytes without parsing the rest (Clever writes `links`
 * after `data`). Only a guess, null when the tail does not read that way: the decoded page's link
 * is the one that counts.
 */
export function guessNextLink(bytes: Uint8Array): string | null {
  const from = Math.max(0, bytes.byteLength - 2048);
  const tail = Buffer.from(bytes.buffer, bytes.byteOffset + from, bytes.byteLength - from).toString('utf8');
  const at = tail.lastIndexOf('"links"');
  if (at < 0) return null;
  try {
    return nextLink((JSON.parse(`{${tail.slice(at)}`) as { links?: unknown }).links);
  } catch {
    return null;
  }
}

/**
 * A list page's body as bytes → its items and next link: JSON that does not parse is worth a retry
 * (a body cut off in transit), a wrong envelope is not. Messages name no path (the client adds it).
 * With `deferText`, the items' strings may still need decoding (see CleverListPage.latin1).
 */
export function decodeListBody(
  bytes: Uint8Array,
  opts: { deferText?: boolean } = {},
): { ok: true; value: CleverListPage } | { ok: false; retry: boolean; message: string } {
  let body: { value: unknown; latin1: boolean };
  try {
    body = opts.deferText ? parseJsonBytesDeferred(bytes) : { value: parseJsonBytes(bytes), latin1: false };
  } catch {
    return { ok: false, retry: true, message: `response body is not valid JSON (${bytes.byteLength} bytes)` };
  }
  const page = readListEnvelope(body.value);
  if (typeof page === 'string') return { ok: false, retry: false, message: page };
  if (body.latin1) {
    page.latin1 = true;
    if (page.next !== null) page.next = utf8Text(page.next);
  }
  return { ok: true, value: page };
}
