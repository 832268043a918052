import { ENTITIES } from '../../src/model/entities.js';
import type { Store } from '../../src/store/store.js';

/**
 * A comparable picture of one district in a store: every record (hash and archived flag), and every
 * account by what it is (account ids are random, so they are left out). Two stores that hold the
 * same roster and accounts give equal dumps.
 */
export async function dumpDistrict(store: Store, district: string): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const entity of ENTITIES) {
    const rows: string[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await store.records.list({ district }, entity, {
        active: false,
        limit: 5000,
        ...(after ? { after } : {}),
      });
      if (page.length === 0) break;
      for (const r of page)
        rows.push(`${r.source}:${r.sourceId}:${r.hash}:${r.archivedAt ? 'archived' : 'active'}`);
      after = page[page.length - 1]!.sourceId;
    }
    out[entity] = rows;
  }
  const accounts: string[] = [];
  let after: string | undefined;
  for (;;) {
    const page = await store.accounts.list({ district, limit: 5000, ...(after ? { after } : {}) });
    if (page.length === 0) break;
    for (const a of page) {
      accounts.push(
        JSON.stringify([
          a.kind,
          a.status,
          a.origin,
          a.recordSource,
          a.recordSourceId,
          a.roles,
          a.access,
          a.email,
          a.title,
          a.identities,
        ]),
      );
    }
    after = page[page.length - 1]!.id;
  }
  out.accounts = accounts.sort();
  out.enrollments = await store.links.enrollmentCounts(district);
  return out;
}
