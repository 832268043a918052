/**
 * What to change in a link table (section members, contact–student links) so that a stored record's
 * link rows become the ones it implies now: the keys to delete and the rows to insert. Pure: the
 * store reads the stored rows, this decides, the store writes. A day's changes touch a few links of
 * each changed section, so writing the difference costs a fraction of deleting and re-inserting
 * every member (LinksRepo.rewrite, the reference path; test/store/link-diff.property.test.ts holds
 * the two to the same table).
 *
 * A link row here is its values after the record's id (see encoding/record-index.ts linkRows); its
 * first `keyWidth` values identify it within its record and are never null, so a row is deleted by
 * its record's id and those values. A key whose other values changed is deleted and inserted again;
 * so is a key stored more than once, which leaves it once.
 */
export interface LinkDiff {
  /** Rows to delete: the record's id, then the key values of the link. */
  remove: string[][];
  /** Rows to insert: the record's id, then the link's values. */
  add: Array<Array<string | null>>;
}

export function diffLinks(
  records: ReadonlyArray<{ id: string; links: ReadonlyArray<ReadonlyArray<string | null>> }>,
  stored: ReadonlyMap<string, ReadonlyArray<ReadonlyArray<string | null>>>,
  keyWidth: number,
): LinkDiff {
  const remove: string[][] = [];
  const add: Array<Array<string | null>> = [];
  // Each value after its length: no two keys join to the same string, whatever the values hold.
  const keyOf = (row: ReadonlyArray<string | null>) => {
    let key = '';
    for (let i = 0; i < keyWidth; i++) key += `${row[i]!.length}:${row[i]}`;
    return key;
  };
  for (const { id, links } of records) {
    const before = new Map<string, { row: ReadonlyArray<string | null>; count: number }>();
    for (const row of stored.get(id) ?? []) {
      const key = keyOf(row);
      const seen = before.get(key);
      if (seen) seen.count++;
      else before.set(key, { row, count: 1 });
    }
    const after = new Set<string>();
    for (const row of links) {
      const key = keyOf(row);
      if (after.has(key)) continue;
      after.add(key);
      const was = before.get(key);
      if (was && was.count === 1 && sameValues(was.row, row)) continue;
      if (was) remove.push([id, ...(was.row.slice(0, keyWidth) as string[])]);
      add.push([id, ...row]);
    }
    for (const [key, was] of before)
      if (!after.has(key)) remove.push([id, ...(was.row.slice(0, keyWidth) as string[])]);
  }
  return { remove, add };
}

function sameValues(a: ReadonlyArray<string | null>, b: ReadonlyArray<string | null>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
