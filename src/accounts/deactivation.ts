import { sortIdentities } from '../model/account.js';
import type { Entity, SourceKind } from '../model/entities.js';
import type { AccountWrite } from '../model/stored-account.js';
import type { Store } from '../store/store.js';
import { accountKindOf } from './derive.js';

/**
 * Deactivation: sync accounts are deactivated (never deleted) when their record is archived, or
 * when a run that queued them as no longer eligible passes the safety valve. An email such an
 * account held alongside another becomes the other's login identity again. Manual accounts are
 * never touched here.
 */

/** Deactivates the sync accounts of archived records (never deletes; manual accounts untouched). */
export async function deactivateForArchived(
  tx: Store,
  b: { runId: string | null; district: string; source: SourceKind; entity: Entity; ids: readonly string[] },
): Promise<number> {
  if (!accountKindOf(b.entity)) return 0;
  const accounts = await tx.accounts.activeSyncAccountsOf(b.district, b.source, b.ids);
  if (accounts.length === 0) return 0;
  await tx.accounts.setStatus(
    accounts.map((a) => a.id),
    'inactive',
  );
  await tx.changeFeed.append(
    accounts.map((a) => ({
      district: b.district,
      accountId: a.id,
      kind: 'deactivated' as const,
      fields: ['record archived'],
      runId: b.runId,
    })),
  );
  await regrantReleasedEmails(
    tx,
    b.district,
    accounts.map((a) => a.email),
    b.runId,
  );
  return accounts.length;
}

/**
 * An email stops being shared when all but one of its holders are deactivated or change email; the
 * one left gets it back as a login identity. (Gaining a holder is handled where it happens.)
 */
export async function regrantReleasedEmails(
  tx: Store,
  district: string,
  emails: ReadonlyArray<string | null>,
  runId: string | null,
): Promise<number> {
  const released = [...new Set(emails.filter((e): e is string => e !== null))];
  if (released.length === 0) return 0;
  const holders = await tx.accounts.activeByEmail(district, released);
  const sole = [...holders.values()]
    .filter((list) => list.length === 1 && list[0]!.origin === 'sync')
    .map((list) => list[0]!.id);
  if (sole.length === 0) return 0;
  const full = await tx.accounts.getMany(sole);
  const writes: Array<{ write: AccountWrite; isNew: boolean }> = [];
  for (const a of full.values()) {
    if (!a.email || a.identities.some((i) => i.type === 'email')) continue;
    writes.push({
      write: {
        ...a,
        identities: sortIdentities([...a.identities, { type: 'email', value: a.email }]),
        derived: a.deriveVersion ? { recordHash: a.recordHash, version: a.deriveVersion } : null,
      },
      isNew: false,
    });
  }
  await tx.accounts.writeMany(writes);
  await tx.changeFeed.append(
    writes.map((w) => ({
      district,
      accountId: w.write.id,
      kind: 'updated' as const,
      fields: ['identities'],
      runId,
    })),
  );
  return writes.length;
}

/** Deactivates accounts a run queued as no longer eligible (still active, still sync-owned). */
export async function applyPendingDeactivations(tx: Store, runId: string, district: string): Promise<number> {
  const pending = await tx.pendingDeactivations.list(runId);
  const ids: string[] = [];
  const emails: Array<string | null> = [];
  const reasons = new Map<string, string>();
  for (const p of pending) {
    const a = await tx.accounts.get(p.accountId);
    if (a?.status === 'active' && a.origin === 'sync') {
      emails.push(a.email);
      ids.push(a.id);
      reasons.set(a.id, p.reason);
    }
  }
  if (ids.length === 0) return 0;
  await tx.accounts.setStatus(ids, 'inactive');
  await tx.changeFeed.append(
    ids.map((id) => ({
      district,
      accountId: id,
      kind: 'deactivated' as const,
      fields: [reasons.get(id) ?? 'not eligible'],
      runId,
    })),
  );
  await regrantReleasedEmails(tx, district, emails, runId);
  return ids.length;
}
