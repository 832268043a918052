import { randomUUID } from 'node:crypto';
import type { AccountKind, IdentityType } from '../model/account.js';
import type { DistrictConfig } from '../model/district-config.js';
import type { Entity, EntityData, SourceKind, Staff } from '../model/entities.js';
import { contentHash } from '../model/hash.js';
import type { AccountCounts, RunProblem } from '../model/run.js';
import type { AccountWrite, ChangeWrite, StoredAccount } from '../store/queries/accounts.js';
import type { Store } from '../store/store.js';
import { accountKindOf, applyOverrides, deriveAccount, parseOverrideFields } from './derive.js';
import type { DesiredAccount, StaffOverrideFields } from './derive.js';

/**
 * Provisioning, run inside each batch's transaction:
 * - an active, eligible record has exactly one active account (created, or updated when what the
 *   rules derive for it changed, or reactivated when it had been deactivated);
 * - a record new to this source is first matched to an existing account by the district's key, then
 *   (optionally) by email, and linked instead of duplicated; two candidates = a reported conflict;
 * - an email held by two active accounts is a login identity of neither (reported);
 * - an account whose record stops being eligible is queued for deactivation (through the valve).
 * Manual accounts are never linked, changed or deactivated here.
 */

export interface ProvisionBatch {
  runId: string | null;
  district: string;
  source: SourceKind;
  entity: Entity;
  config: DistrictConfig;
  records: ReadonlyArray<{ sourceId: string; data: EntityData[Entity] }>;
}

export interface ProvisionResult {
  counts: Partial<AccountCounts>;
  problems: RunProblem[];
  /** Accounts to deactivate once the run passes the safety valve (also stored when there is a run). */
  pendingDeactivations: Array<{ accountId: string; kind: AccountKind; reason: string }>;
}

type Counts = Record<keyof AccountCounts, number>;

function zero(): Counts {
  return {
    provisioned: 0,
    linked: 0,
    updated: 0,
    deactivated: 0,
    reactivated: 0,
    held: 0,
    conflicts: 0,
    notProvisioned: 0,
  };
}

function sortIdentities(ids: Array<{ type: IdentityType; value: string }>) {
  return [...ids].sort((a, b) => (a.type < b.type ? -1 : a.type > b.type ? 1 : a.value < b.value ? -1 : 1));
}

/**
 * What a sync owns of an account, hashed. The desired state and the stored state are hashed the
 * same way, so a local edit (made outside a sync) shows up as a difference and is re-mapped, unless
 * an override or the access switch says it should stick.
 */
function stateHash(
  w: Pick<
    AccountWrite,
    | 'status'
    | 'recordSource'
    | 'recordSourceId'
    | 'name'
    | 'email'
    | 'title'
    | 'roles'
    | 'access'
    | 'identities'
  >,
): string {
  return contentHash({
    status: w.status,
    link: [w.recordSource, w.recordSourceId],
    name: w.name,
    email: w.email,
    title: w.title,
    roles: w.roles,
    access: w.access,
    identities: sortIdentities(w.identities),
  });
}

function changedFields(before: StoredAccount, after: AccountWrite): string[] {
  const out: string[] = [];
  const same = (a: unknown, b: unknown) => contentHash(a) === contentHash(b);
  if (!same(before.name, after.name)) out.push('name');
  if (before.email !== after.email) out.push('email');
  if (before.title !== after.title) out.push('title');
  if (!same([...before.roles].sort(), after.roles)) out.push('roles');
  if (!same(before.access, after.access)) out.push('access');
  if (!same(sortIdentities(before.identities), sortIdentities(after.identities))) out.push('identities');
  if (before.recordSource !== after.recordSource || before.recordSourceId !== after.recordSourceId)
    out.push('record');
  return out;
}

/** The override keys a staff record can be addressed by (staff_overrides.csv uses any identifier). */
function overrideKeys(s: Staff): Array<{ keyType: string; keyValue: string }> {
  const out: Array<{ keyType: string; keyValue: string }> = [];
  if (s.staffId?.trim()) out.push({ keyType: 'staff_id', keyValue: s.staffId.trim() });
  if (s.sisId?.trim()) out.push({ keyType: 'sis_id', keyValue: s.sisId.trim() });
  if (s.teacherNumber?.trim()) out.push({ keyType: 'teacher_number', keyValue: s.teacherNumber.trim() });
  return out;
}

export async function provisionBatch(tx: Store, b: ProvisionBatch): Promise<ProvisionResult> {
  const kind = accountKindOf(b.entity);
  if (!kind || b.records.length === 0) return { counts: {}, problems: [], pendingDeactivations: [] };
  const counts = zero();
  const problems: RunProblem[] = [];
  const changes: ChangeWrite[] = [];
  const entity = b.entity as 'students' | 'staff' | 'contacts';
  const existing = await tx.accounts.byRecords(
    b.district,
    b.source,
    b.records.map((r) => r.sourceId),
  );

  // 1. What the rules say each record's account should be (with overrides for staff).
  const desired = new Map<string, DesiredAccount>();
  const overridesByRecord = new Map<string, StaffOverrideFields[]>();
  if (kind === 'staff' && (await tx.accounts.hasOverrides(b.district))) {
    const keys: Array<{ keyType: string; keyValue: string }> = [];
    for (const r of b.records) {
      keys.push(...overrideKeys(r.data as Staff));
      const a = existing.get(r.sourceId);
      if (a) keys.push({ keyType: 'account', keyValue: a.id });
    }
    const rows = await tx.accounts.overrides(b.district, keys);
    const byKey = new Map(rows.map((o) => [`${o.keyType}\u0000${o.keyValue}`, o]));
    for (const r of b.records) {
      const list: StaffOverrideFields[] = [];
      for (const k of overrideKeys(r.data as Staff)) {
        const o = byKey.get(`${k.keyType}\u0000${k.keyValue}`);
        if (o) list.push(parseOverrideFields(o.fields));
      }
      const a = existing.get(r.sourceId);
      const manual = a ? byKey.get(`account\u0000${a.id}`) : undefined;
      if (manual) list.push(parseOverrideFields(manual.fields));
      if (list.length > 0) overridesByRecord.set(r.sourceId, list);
    }
  }
  for (const r of b.records) {
    let d = deriveAccount(entity, r.sourceId, b.source, r.data as EntityData['students'], b.config);
    const a = existing.get(r.sourceId);
    // "Source controls access" off: the mapping applies at creation only; later local edits stick.
    if (kind === 'staff' && !b.config.access.sourceControlsAccess && a?.access)
      d = { ...d, access: a.access };
    const o = overridesByRecord.get(r.sourceId);
    if (o) d = applyOverrides(d, o);
    desired.set(r.sourceId, d);
  }

  // 2. Emails: a login identity only when exactly one active account holds it.
  const batchIds = new Set(b.records.map((r) => r.sourceId));
  const emails = [
    ...new Set([...desired.values()].filter((d) => d.eligible && d.email).map((d) => d.email!)),
  ];
  const emailHolders = new Map<string, Set<string>>();
  const dbHolders = await tx.accounts.activeByEmail(b.district, emails);
  for (const [email, accounts] of dbHolders) {
    for (const a of accounts) {
      if (a.recordSource === b.source && a.recordSourceId !== null && batchIds.has(a.recordSourceId))
        continue;
      let set = emailHolders.get(email);
      if (!set) emailHolders.set(email, (set = new Set()));
      set.add(a.id);
    }
  }
  for (const r of b.records) {
    const d = desired.get(r.sourceId)!;
    if (!d.eligible || !d.email) continue;
    let set = emailHolders.get(d.email);
    if (!set) emailHolders.set(d.email, (set = new Set()));
    set.add(existing.get(r.sourceId)?.id ?? `new:${r.sourceId}`);
  }
  const shared = (email: string | null) => email !== null && (emailHolders.get(email)?.size ?? 0) > 1;

  // 3. Candidates for matching records that have no account yet.
  const unlinked = b.records.filter((r) => !existing.has(r.sourceId) && desired.get(r.sourceId)!.eligible);
  const keyType = unlinked.map((r) => desired.get(r.sourceId)!.key?.type).find((t) => t !== undefined);
  const keyCandidates =
    keyType && unlinked.length > 0
      ? await tx.accounts.byIdentity(
          b.district,
          keyType,
          unlinked
            .map((r) => desired.get(r.sourceId)!.key?.value)
            .filter((v): v is string => v !== undefined),
        )
      : new Map<string, StoredAccount[]>();
  const emailCandidates =
    b.config.matchByEmail && unlinked.length > 0
      ? await tx.accounts.byIdentity(
          b.district,
          'email',
          unlinked.map((r) => desired.get(r.sourceId)!.email).filter((e): e is string => e !== null),
        )
      : new Map<string, StoredAccount[]>();
  /** Accounts created or linked in this batch, by identity, so two records cannot claim one account. */
  const claimed = new Map<string, StoredAccount[]>();
  const claim = (type: IdentityType, value: string, a: StoredAccount) => {
    const k = `${type}\u0000${value}`;
    claimed.set(k, [...(claimed.get(k) ?? []), a]);
  };

  const pendingDeactivations: Array<{ accountId: string; kind: AccountKind; reason: string }> = [];

  for (const r of b.records) {
    const d = desired.get(r.sourceId)!;
    const acct = existing.get(r.sourceId);
    const identities = [...d.identities];
    if (d.email && !shared(d.email)) identities.push({ type: 'email', value: d.email });
    if (d.email && shared(d.email) && d.eligible) {
      problems.push({
        severity: 'warning',
        entity: b.entity,
        recordId: r.sourceId,
        field: 'email',
        reason: 'email is shared with another account; it is not used as a login identity',
      });
    }
    const base = {
      status: 'active' as const,
      recordSource: b.source,
      recordSourceId: r.sourceId,
      name: d.name,
      email: d.email,
      title: d.title,
      roles: d.roles,
      access: d.access,
      identities: sortIdentities(identities),
    };

    if (acct) {
      if (!d.eligible) {
        if (kind !== 'guardian') counts.notProvisioned++;
        if (acct.status === 'active' && acct.origin === 'sync') {
          pendingDeactivations.push({
            accountId: acct.id,
            kind,
            reason: d.ineligibleReason?.reason ?? 'no longer eligible',
          });
        }
        continue;
      }
      if (stateHash(base) === stateHash({ ...acct, roles: [...acct.roles].sort() })) continue;
      const write: AccountWrite = {
        ...base,
        id: acct.id,
        district: b.district,
        kind,
        origin: acct.origin,
      };
      const fields = changedFields(acct, write);
      await tx.accounts.update(write, acct.status);
      if (acct.status === 'inactive') {
        counts.reactivated++;
        changes.push({
          district: b.district,
          accountId: acct.id,
          kind: 'reactivated',
          fields,
          runId: b.runId,
        });
      } else if (fields.length > 0) {
        counts.updated++;
        changes.push({ district: b.district, accountId: acct.id, kind: 'updated', fields, runId: b.runId });
      }
      continue;
    }

    if (!d.eligible) {
      // Contacts without guardian accounts are not a finding; students outside the grades are.
      if (kind === 'guardian') continue;
      counts.notProvisioned++;
      if (d.ineligibleReason) {
        problems.push({
          severity: 'warning',
          entity: b.entity,
          recordId: r.sourceId,
          field: d.ineligibleReason.field,
          reason: d.ineligibleReason.reason,
        });
      }
      continue;
    }

    // Match before creating: the district's key, then (unshared) email.
    let match: StoredAccount | null = null;
    let conflict: string | null = null;
    const consider = (type: IdentityType, value: string, fromDb: StoredAccount[] | undefined): boolean => {
      const seen = new Map<string, StoredAccount>();
      for (const a of [...(fromDb ?? []), ...(claimed.get(`${type}\u0000${value}`) ?? [])])
        if (a.kind === kind) seen.set(a.id, a);
      const cands = [...seen.values()];
      if (cands.length === 0) return false;
      if (cands.length > 1) {
        conflict = `${cands.length} accounts hold its ${type}; no account was created or linked`;
        return true;
      }
      const c = cands[0]!;
      if (c.origin === 'manual') {
        conflict = `a manually created account holds its ${type}; link or remove it by hand`;
      } else if (c.recordSource === b.source && c.recordSourceId !== r.sourceId && c.status === 'active') {
        conflict = `its ${type} belongs to the account of another ${b.source} record (${c.recordSourceId ?? '?'})`;
      } else {
        match = c;
      }
      return true;
    };
    const decided = d.key ? consider(d.key.type, d.key.value, keyCandidates.get(d.key.value)) : false;
    if (!decided && b.config.matchByEmail && d.email && !shared(d.email))
      consider('email', d.email, emailCandidates.get(d.email));

    if (conflict !== null) {
      counts.conflicts++;
      problems.push({
        severity: 'error',
        entity: b.entity,
        recordId: r.sourceId,
        field: d.key?.type ?? 'email',
        reason: conflict,
      });
      continue;
    }
    if (match !== null) {
      const m: StoredAccount = match;
      const write: AccountWrite = {
        ...base,
        id: m.id,
        district: b.district,
        kind,
        origin: 'sync',
      };
      await tx.accounts.update(write, m.status);
      counts.linked++;
      changes.push({
        district: b.district,
        accountId: m.id,
        kind: 'linked',
        fields: [`${b.source}:${r.sourceId}`],
        runId: b.runId,
      });
      if (m.status === 'inactive') {
        counts.reactivated++;
        changes.push({
          district: b.district,
          accountId: m.id,
          kind: 'reactivated',
          fields: [],
          runId: b.runId,
        });
      }
      const linked = { ...m, ...write, createdAt: m.createdAt, updatedAt: m.updatedAt, deactivatedAt: null };
      for (const i of write.identities) claim(i.type, i.value, linked);
      continue;
    }
    const id = randomUUID();
    const write: AccountWrite = {
      ...base,
      id,
      district: b.district,
      kind,
      origin: 'sync',
    };
    await tx.accounts.insert(write);
    counts.provisioned++;
    changes.push({ district: b.district, accountId: id, kind: 'created', fields: [], runId: b.runId });
    const created: StoredAccount = { ...write, createdAt: '', updatedAt: '', deactivatedAt: null };
    for (const i of write.identities) claim(i.type, i.value, created);
  }

  // 4. Accounts outside this batch that now share an email lose it as a login identity.
  for (const [email, holders] of emailHolders) {
    if (holders.size < 2) continue;
    for (const a of dbHolders.get(email) ?? []) {
      if (!holders.has(a.id) || a.origin === 'manual') continue;
      if (!a.identities.some((i) => i.type === 'email' && i.value === email)) continue;
      const write: AccountWrite = {
        id: a.id,
        district: a.district,
        kind: a.kind,
        status: a.status,
        origin: a.origin,
        recordSource: a.recordSource,
        recordSourceId: a.recordSourceId,
        name: a.name,
        email: a.email,
        title: a.title,
        roles: a.roles,
        access: a.access,
        identities: a.identities.filter((i) => !(i.type === 'email' && i.value === email)),
      };
      await tx.accounts.update(write, a.status);
      counts.updated++;
      changes.push({
        district: b.district,
        accountId: a.id,
        kind: 'updated',
        fields: ['identities'],
        runId: b.runId,
      });
    }
  }

  if (pendingDeactivations.length > 0 && b.runId !== null)
    await tx.accounts.addPendingDeactivations(b.runId, pendingDeactivations);
  await tx.accounts.appendChanges(changes);
  return { counts, problems, pendingDeactivations };
}

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
  await tx.accounts.appendChanges(
    accounts.map((a) => ({
      district: b.district,
      accountId: a.id,
      kind: 'deactivated' as const,
      fields: ['record archived'],
      runId: b.runId,
    })),
  );
  return accounts.length;
}

/** Deactivates accounts a run queued as no longer eligible (still active, still sync-owned). */
export async function applyPendingDeactivations(tx: Store, runId: string, district: string): Promise<number> {
  const pending = await tx.accounts.pendingDeactivations(runId);
  const ids: string[] = [];
  const reasons = new Map<string, string>();
  for (const p of pending) {
    const a = await tx.accounts.get(p.accountId);
    if (a?.status === 'active' && a.origin === 'sync') {
      ids.push(a.id);
      reasons.set(a.id, p.reason);
    }
  }
  if (ids.length === 0) return 0;
  await tx.accounts.setStatus(ids, 'inactive');
  await tx.accounts.appendChanges(
    ids.map((id) => ({
      district,
      accountId: id,
      kind: 'deactivated' as const,
      fields: [reasons.get(id) ?? 'not eligible'],
      runId,
    })),
  );
  return ids.length;
}
