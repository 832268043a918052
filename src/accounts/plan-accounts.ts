import { accountStateHash, sortIdentities, withIdentity } from '../model/account.js';
import type { AccountKind, IdentityType } from '../model/account.js';
import type { SourceKind } from '../model/entities.js';
import { contentHash } from '../model/hash.js';
import { emptyAccountCounts } from '../model/run.js';
import type { AccountCounts, RunProblem } from '../model/run.js';
import type { AccountHead, AccountWrite, ChangeWrite, StoredAccount } from '../model/stored-account.js';
import { applyOverrides, deriveAccount } from './derive.js';
import type { DesiredAccount, StaffOverrideFields } from './derive.js';
import { sharedEmail } from './match-identities.js';
import type { IdentityMatches } from './match-identities.js';
import { accountFields } from './provision-batch.js';
import type { WaitingClaim } from './rekey.js';
import type { ProvisionBatch, ProvisionRecord } from './provision-batch.js';

/**
 * The planning phase of provisioning, pure: from a batch's records, the accounts linked to them and
 * the identity matches, the account writes, the change feed entries, the counts and the problems.
 * Nothing here reads or writes the store (the one read it needs from the apply phase, the stored
 * state of the accounts that change, is passed to {@link completePlan}).
 *
 * These loops run once per record of every batch (100,000+ on a first sync), so they allocate only
 * what they keep: one derived account and one write per record, each built as one object literal of
 * one shape, and identity lists are not copied.
 */

/**
 * What the rules (and any staff overrides) say each record's account should be, by source id.
 * `linked` are the accounts the records already have.
 */
export function deriveDesired(
  b: ProvisionBatch,
  kind: AccountKind,
  records: ReadonlyArray<ProvisionRecord>,
  linked: ReadonlyMap<string, AccountHead>,
  overridesByRecord: ReadonlyMap<string, StaffOverrideFields[]>,
): Map<string, DesiredAccount> {
  const entity = b.entity as 'students' | 'staff' | 'contacts';
  const desired = new Map<string, DesiredAccount>();
  for (const r of records) {
    let d = deriveAccount(entity, r.sourceId, b.source, accountFields(r), b.config);
    const a = linked.get(r.sourceId);
    // "Source controls access" off: the mapping applies at creation only; later local edits stick.
    if (kind === 'staff' && !b.config.access.sourceControlsAccess && a?.access)
      d = { ...d, access: a.access };
    const o = overridesByRecord.get(r.sourceId);
    if (o) d = applyOverrides(d, o);
    desired.set(r.sourceId, d);
  }
  return desired;
}

export interface PlanInput {
  b: ProvisionBatch;
  kind: AccountKind;
  records: ReadonlyArray<ProvisionRecord>;
  desired: ReadonlyMap<string, DesiredAccount>;
  /** The accounts linked to the batch's records, by source id. */
  linked: ReadonlyMap<string, AccountHead>;
  matches: IdentityMatches;
  /** The store's active holders of the batch's emails (IdentityCandidates.emailHolders). */
  heldInStore: ReadonlyMap<string, AccountHead[]>;
  /** New account ids (time-ordered: see model/ids.ts), so that planning itself stays pure. */
  newId: () => string;
}

export interface AccountPlan {
  counts: AccountCounts;
  problems: RunProblem[];
  /** The change feed's entries, in the order they are appended. */
  changes: ChangeWrite[];
  /** The account writes, by account id. */
  writes: Map<string, { write: AccountWrite; isNew: boolean }>;
  /** Records of another source whose accounts were linked here: archived, so no one is counted twice. */
  superseded: Array<{ source: SourceKind; id: string }>;
  /** Linked accounts whose stored state differs: their changed fields go into the feed (see completePlan). */
  toDiff: Array<{ accountId: string; write: AccountWrite; reactivated: boolean }>;
  pendingDeactivations: Array<{ accountId: string; kind: AccountKind; reason: string }>;
  /** Accounts outside the batch that now share an email: they lose it as a login identity (see completePlan). */
  sharedHolders: string[];
  /** Claims that wait for the end of the stream (see rekey.ts), with their records. */
  waiting: Array<WaitingClaim & { record: ProvisionRecord }>;
  /** Identities re-keyed accounts gave up, kept as their former identities (see rekey.ts). */
  formerIdentities: Array<{ accountId: string; type: IdentityType; value: string }>;
}

/** The account writes and feed entries a batch's records come to, but for what needs the stored state. */
export function planAccounts(p: PlanInput): AccountPlan {
  const { b, kind, records, desired, linked, matches } = p;
  const { decisions } = matches;
  const counts = emptyAccountCounts();
  const problems: RunProblem[] = [];
  const changes: ChangeWrite[] = [];
  const writes = new Map<string, { write: AccountWrite; isNew: boolean }>();
  const superseded: Array<{ source: SourceKind; id: string }> = [];
  const toDiff: Array<{ accountId: string; write: AccountWrite; reactivated: boolean }> = [];
  const pendingDeactivations: Array<{ accountId: string; kind: AccountKind; reason: string }> = [];
  const waiting: Array<WaitingClaim & { record: ProvisionRecord }> = [];
  const formerIdentities: Array<{ accountId: string; type: IdentityType; value: string }> = [];
  for (const r of records) {
    const d = desired.get(r.sourceId)!;
    const acct = linked.get(r.sourceId);
    const identities =
      d.email && !sharedEmail(matches, d.email)
        ? withIdentity<{ type: IdentityType; value: string }>(d.identities, { type: 'email', value: d.email })
        : d.identities;
    if (d.email && sharedEmail(matches, d.email) && d.eligible) {
      problems.push({
        severity: 'warning',
        entity: b.entity,
        recordId: r.sourceId,
        field: 'email',
        reason: 'email is shared with another account; it is not used as a login identity',
      });
    }
    const sorted = sortIdentities(identities);

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
      const write = accountWrite(b, kind, r, d, sorted, acct.id, acct.origin);
      const sameState = acct.status === 'active' && acct.stateHash === accountStateHash(write);
      const sameBookkeeping =
        acct.recordHash === write.derived!.recordHash &&
        acct.deriveVersion === write.derived!.version &&
        acct.syncedHash === acct.stateHash;
      if (sameState && sameBookkeeping) continue;
      writes.set(acct.id, { write, isNew: false });
      toDiff.push({ accountId: acct.id, write, reactivated: acct.status === 'inactive' });
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

    const dec = decisions.get(r.sourceId) ?? { kind: 'create' };
    if (dec.kind === 'conflict') {
      counts.conflicts++;
      problems.push({
        severity: 'error',
        entity: b.entity,
        recordId: r.sourceId,
        field: d.key?.type ?? 'email',
        reason: dec.reason,
      });
      continue;
    }
    if (dec.kind === 'wait') {
      // Decided at the end of the stream (see rekey.ts): nothing is written or counted yet.
      waiting.push({
        newId: r.sourceId,
        oldId: dec.oldId,
        accountId: dec.account.id,
        accountKind: kind,
        record: r,
      });
      continue;
    }
    if (dec.kind === 'link') {
      const m = dec.account;
      if (m.recordSource && m.recordSource !== b.source && m.recordSourceId) {
        superseded.push({ source: m.recordSource, id: m.recordSourceId });
      }
      writes.set(m.id, { write: accountWrite(b, kind, r, d, sorted, m.id, 'sync'), isNew: false });
      if (dec.rekeyFrom !== undefined) {
        counts.rekeyed++;
        // What the account held and the new record does not (its old Clever id, …) still finds it.
        for (const i of m.identities) {
          if (!sorted.some((n) => n.type === i.type && n.value === i.value))
            formerIdentities.push({ accountId: m.id, type: i.type, value: i.value });
        }
        changes.push({
          district: b.district,
          accountId: m.id,
          kind: 'rekeyed',
          fields: [`${b.source}:${dec.rekeyFrom}`, `${b.source}:${r.sourceId}`],
          runId: b.runId,
        });
      } else {
        counts.linked++;
        changes.push({
          district: b.district,
          accountId: m.id,
          kind: 'linked',
          fields: [`${b.source}:${r.sourceId}`],
          runId: b.runId,
        });
      }
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
      continue;
    }
    const id = p.newId();
    writes.set(id, { write: accountWrite(b, kind, r, d, sorted, id, 'sync'), isNew: true });
    counts.provisioned++;
    changes.push({ district: b.district, accountId: id, kind: 'created', fields: [], runId: b.runId });
  }

  // Accounts outside this batch that now share an email lose it as a login identity.
  const sharedHolders: string[] = [];
  for (const [email, holders] of matches.emailHolders) {
    if (holders.size < 2) continue;
    for (const a of p.heldInStore.get(email) ?? []) {
      if (holders.has(a.id) && a.origin !== 'manual' && !writes.has(a.id)) sharedHolders.push(a.id);
    }
  }
  return {
    counts,
    problems,
    changes,
    writes,
    superseded,
    toDiff,
    pendingDeactivations,
    sharedHolders,
    waiting,
    formerIdentities,
  };
}

/** The account the rules want for a record, as one object literal (one shape for every write; no spreads). */
function accountWrite(
  b: ProvisionBatch,
  kind: AccountKind,
  r: ProvisionRecord,
  d: DesiredAccount,
  identities: Array<{ type: IdentityType; value: string }>,
  id: string,
  origin: AccountWrite['origin'],
): AccountWrite {
  return {
    id,
    district: b.district,
    kind,
    status: 'active',
    origin,
    recordSource: b.source,
    recordSourceId: r.sourceId,
    name: d.name,
    email: d.email,
    title: d.title,
    roles: d.roles,
    access: d.access,
    identities,
    derived: { recordHash: r.hash ?? null, version: b.deriveVersion },
  };
}

/**
 * Finishes the plan with the stored state of the accounts in `plan.toDiff` and `plan.sharedHolders`
 * (`before`, by id): the changed fields of the updated accounts go into the feed, and the holders of
 * a now shared email lose it as an identity. Returns the emails that updated accounts gave up,
 * which may now be held by one account only.
 */
export function completePlan(
  b: ProvisionBatch,
  plan: AccountPlan,
  before: ReadonlyMap<string, StoredAccount>,
): Array<string | null> {
  const { counts, changes } = plan;
  const releasedEmails: Array<string | null> = [];
  for (const t of plan.toDiff) {
    const was = before.get(t.accountId)!;
    if (was.email !== t.write.email) releasedEmails.push(was.email);
    const fields = changedFields(was, t.write);
    if (t.reactivated) {
      counts.reactivated++;
      changes.push({
        district: b.district,
        accountId: t.accountId,
        kind: 'reactivated',
        fields,
        runId: b.runId,
      });
    } else if (fields.length > 0) {
      counts.updated++;
      changes.push({ district: b.district, accountId: t.accountId, kind: 'updated', fields, runId: b.runId });
    }
  }
  for (const id of plan.sharedHolders) {
    const a = before.get(id)!;
    const email = a.email!;
    if (!a.identities.some((i) => i.type === 'email' && i.value === email)) continue;
    plan.writes.set(a.id, {
      write: {
        ...a,
        identities: a.identities.filter((i) => !(i.type === 'email' && i.value === email)),
        derived: a.deriveVersion ? { recordHash: a.recordHash, version: a.deriveVersion } : null,
      },
      isNew: false,
    });
    counts.updated++;
    changes.push({
      district: b.district,
      accountId: a.id,
      kind: 'updated',
      fields: ['identities'],
      runId: b.runId,
    });
  }
  return releasedEmails;
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
