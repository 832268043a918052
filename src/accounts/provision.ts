import type { AccountEntity, AccountFieldsOf, StaffAccountFields } from '../model/account-fields.js';
import { uuidv7 } from '../model/ids.js';
import { accountStateHash, sortIdentities, withIdentity } from '../model/account.js';
import type { AccountKind, IdentityType } from '../model/account.js';
import type { DistrictConfig } from '../model/district-config.js';
import type { Entity, EntityData, SourceKind } from '../model/entities.js';
import { contentHash } from '../model/hash.js';
import { emptyAccountCounts } from '../model/run.js';
import type { AccountCounts, RunProblem } from '../model/run.js';
import type { AccountHead, AccountWrite, ChangeWrite, StoredAccount } from '../store/queries/accounts.js';
import type { Store } from '../store/store.js';
import { accountKindOf, applyOverrides, deriveAccount, parseOverrideFields } from './derive.js';
import type { DesiredAccount, StaffOverrideFields } from './derive.js';
import { BatchGate } from './decision-order.js';
import type { DecisionOrder, StreamGate } from './decision-order.js';
import { regrantReleasedEmails } from './deactivation.js';
import { identityLookups, matchIdentities, sharedEmail } from './match-identities.js';
import type { MatchDecision } from './match-identities.js';
import type { RunIdentities } from './run-identities.js';

// The sync imports the run's order and deactivation from here with the rest of provisioning.
export { applyPendingDeactivations, deactivateForArchived, regrantReleasedEmails } from './deactivation.js';
export { DecisionOrder } from './decision-order.js';
export type { StreamGate, Turn } from './decision-order.js';

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

/** A record of a batch, as provisioning reads it (see ProvisionBatch.records). */
export interface ProvisionRecord {
  sourceId: string;
  data: EntityData[Entity];
  hash?: string;
  isNew?: boolean;
  accountData?: AccountFieldsOf[AccountEntity] | undefined;
}

export interface ProvisionBatch {
  runId: string | null;
  district: string;
  source: SourceKind;
  entity: Entity;
  config: DistrictConfig;
  /** The version of the rules (see {@link deriveVersion}); accounts derived under another are redone. */
  deriveVersion: string;
  /**
   * `hash` is the record's content hash: with it, an account derived from the same record is skipped.
   * `isNew` marks a record the store did not hold: no account can be linked to it yet, so none is
   * looked up. `accountData`, when the source sent it, is what the account is derived from instead of
   * `data` (see model/account-fields.ts).
   */
  records: ReadonlyArray<ProvisionRecord>;
  /**
   * Called with the records whose accounts are derived again (not quiet), before their fields are
   * read: gives the records a source did not decode their stored data (see sources/stored-only.ts).
   */
  loadData?: (records: ReadonlyArray<ProvisionRecord>) => Promise<void>;
  /**
   * Set when the district had no accounts at the start of the run: keys and emails it does not know
   * are held by nobody and are not looked up (see {@link RunIdentities}). Every account this batch
   * writes is added to it.
   */
  known?: RunIdentities | null;
  /**
   * Set when the district provisions no guardians and no account of this source is a guardian's
   * (checked at the start of the run, under the lock): contacts then have nothing to provision and
   * are not looked at.
   */
  noGuardianAccounts?: boolean;
  /** When batches of one stream overlap (see run-sync.ts and decision-order.ts). */
  gate?: StreamGate;
  /**
   * The run's {@link DecisionOrder} (PostgreSQL, where streams commit side by side), and a promise
   * that settles (never rejects) when this batch's transaction has ended.
   */
  order?: { decisions: DecisionOrder; ended: Promise<void> };
}

/**
 * The version of everything besides the record that decides an account: the district's settings and
 * its overrides. An account derived from an unchanged record under the same version, and not edited
 * since, needs no work: this is what keeps a no-change re-sync cheap.
 */
export async function deriveVersion(store: Store, district: string, config: DistrictConfig): Promise<string> {
  return contentHash({ config, overrides: await store.accounts.overridesStamp(district) });
}

export interface ProvisionResult {
  counts: Partial<AccountCounts>;
  problems: RunProblem[];
  /** Accounts to deactivate once the run passes the safety valve (also stored when there is a run). */
  pendingDeactivations: Array<{ accountId: string; kind: AccountKind; reason: string }>;
  /** Records of a lower source whose accounts this batch took over (they were archived). */
  superseded: Array<{ source: SourceKind; id: string }>;
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
function overrideKeys(s: StaffAccountFields): Array<{ keyType: string; keyValue: string }> {
  const out: Array<{ keyType: string; keyValue: string }> = [];
  if (s.staffId?.trim()) out.push({ keyType: 'staff_id', keyValue: s.staffId.trim() });
  if (s.sisId?.trim()) out.push({ keyType: 'sis_id', keyValue: s.sisId.trim() });
  if (s.teacherNumber?.trim()) out.push({ keyType: 'teacher_number', keyValue: s.teacherNumber.trim() });
  return out;
}

/** What a record's account is derived from: the fields its source sent apart, or the record. */
function accountFields(r: ProvisionRecord): AccountFieldsOf[AccountEntity] {
  return r.accountData ?? (r.data as AccountFieldsOf[AccountEntity]);
}

export async function provisionBatch(tx: Store, b: ProvisionBatch): Promise<ProvisionResult> {
  if (!b.gate && !b.order) return provisionGated(tx, b, null);
  const gate = new BatchGate(b.gate ?? null, b.order ?? null);
  try {
    await gate.enter();
    return await provisionGated(tx, b, gate);
  } finally {
    gate.decided();
  }
}

async function provisionGated(
  tx: Store,
  b: ProvisionBatch,
  /** The batch's waits when it runs beside others; told once its accounts are decided and recorded in `b.known`. */
  gate: BatchGate | null,
): Promise<ProvisionResult> {
  const kind = accountKindOf(b.entity);
  if (!kind || b.records.length === 0 || (kind === 'guardian' && b.noGuardianAccounts))
    return { counts: {}, problems: [], pendingDeactivations: [], superseded: [] };
  const counts = emptyAccountCounts();
  const problems: RunProblem[] = [];
  const changes: ChangeWrite[] = [];
  const entity = b.entity as 'students' | 'staff' | 'contacts';
  // Quiet records: the account was derived from this very record under these rules and nobody has
  // edited it since (see AccountsRepo.quietRecords); their accounts are not even read. Nor do
  // contacts of a district that provisions no guardians need a look unless they still have an
  // account (from when it did): the rest would derive nothing. Everything below only looks at the
  // rest.
  const stored = b.records.filter((r) => !r.isNew);
  const quiet = await tx.accounts.quietRecords(
    b.district,
    b.source,
    stored.flatMap((r) => (r.hash !== undefined ? [{ sourceId: r.sourceId, hash: r.hash }] : [])),
    b.deriveVersion,
  );
  const allExisting = await tx.accounts.byRecords(
    b.district,
    b.source,
    stored.filter((r) => !quiet.has(r.sourceId)).map((r) => r.sourceId),
  );
  const noGuardians = kind === 'guardian' && !b.config.provisionGuardians;
  const records = b.records.filter(
    (r) => !quiet.has(r.sourceId) && !(noGuardians && !allExisting.has(r.sourceId)),
  );
  if (records.length === 0) return { counts, problems, pendingDeactivations: [], superseded: [] };
  await b.loadData?.(records);
  const batchIds = new Set(records.map((r) => r.sourceId));
  const existing = new Map([...allExisting].filter(([id]) => batchIds.has(id)));
  const known = b.known ?? null;
  /** Values worth looking up: all of them, or on a first sync only those an account of this run holds. */
  const lookup = (type: IdentityType, values: ReadonlyArray<string>): string[] =>
    known ? values.filter((v) => known.mayBeHeld(type, v)) : [...values];
  // A value held by an account of this run may belong to a batch that has decided and is still
  // committing (the previous one of this stream, or one of another stream).
  const settled = async <T>(values: T[]): Promise<T[]> => {
    if (values.length > 0 && gate) await gate.settled();
    return values;
  };
  const derived = (r: ProvisionRecord) => ({ recordHash: r.hash ?? null, version: b.deriveVersion });

  // A. What the rules say each record's account should be (with overrides for staff).
  const desired = new Map<string, DesiredAccount>();
  const overridesByRecord = new Map<string, StaffOverrideFields[]>();
  if (kind === 'staff' && (await tx.accounts.hasOverrides(b.district))) {
    const keys: Array<{ keyType: string; keyValue: string }> = [];
    for (const r of records) {
      keys.push(...overrideKeys(accountFields(r) as StaffAccountFields));
      const a = existing.get(r.sourceId);
      if (a) keys.push({ keyType: 'account', keyValue: a.id });
    }
    const rows = await tx.accounts.overrides(b.district, keys);
    const byKey = new Map(rows.map((o) => [`${o.keyType}\u0000${o.keyValue}`, o]));
    for (const r of records) {
      const list: StaffOverrideFields[] = [];
      for (const k of overrideKeys(accountFields(r) as StaffAccountFields)) {
        const o = byKey.get(`${k.keyType}\u0000${k.keyValue}`);
        if (o) list.push(parseOverrideFields(o.fields));
      }
      const a = existing.get(r.sourceId);
      const manual = a ? byKey.get(`account\u0000${a.id}`) : undefined;
      if (manual) list.push(parseOverrideFields(manual.fields));
      if (list.length > 0) overridesByRecord.set(r.sourceId, list);
    }
  }
  deriveDesired(entity, kind, b, records, existing, overridesByRecord, desired);

  // B. What the store holds of the batch's keys and emails, for matching.
  const { unlinked, keyType } = identityLookups(records, desired, existing);
  const keyCandidates =
    keyType !== undefined
      ? await tx.accounts.byIdentity(
          b.district,
          keyType,
          await settled(
            lookup(
              keyType,
              unlinked
                .map((r) => desired.get(r.sourceId)!.key?.value)
                .filter((v): v is string => v !== undefined),
            ),
          ),
        )
      : new Map<string, StoredAccount[]>();
  const emailCandidates =
    b.config.matchByEmail && unlinked.length > 0
      ? await tx.accounts.byIdentity(
          b.district,
          'email',
          await settled(
            lookup(
              'email',
              unlinked.map((r) => desired.get(r.sourceId)!.email).filter((e): e is string => e !== null),
            ),
          ),
        )
      : new Map<string, StoredAccount[]>();
  /** Records of other sources that candidate accounts are linked to and that are still active. */
  const activeElsewhere = new Set<string>();
  const otherLinks = new Map<SourceKind, string[]>();
  for (const list of [...keyCandidates.values(), ...emailCandidates.values()]) {
    for (const c of list) {
      if (c.recordSource && c.recordSource !== b.source && c.recordSourceId) {
        otherLinks.set(c.recordSource, [...(otherLinks.get(c.recordSource) ?? []), c.recordSourceId]);
      }
    }
  }
  for (const [source, ids] of otherLinks) {
    for (const [id, st] of await tx.records.states({ district: b.district, source }, b.entity, ids)) {
      if (!st.archived) activeElsewhere.add(`${source}\u0000${id}`);
    }
  }
  const emails = [
    ...new Set([...desired.values()].filter((d) => d.eligible && d.email).map((d) => d.email!)),
  ];
  const dbHolders = await tx.accounts.activeByEmail(b.district, await settled(lookup('email', emails)));

  // C. Match the records new to this source to accounts, and find the shared emails.
  const matches = matchIdentities({
    district: b.district,
    kind,
    source: b.source,
    matchByEmail: b.config.matchByEmail,
    records,
    desired,
    linked: existing,
    unlinked,
    candidates: { byKey: keyCandidates, byEmail: emailCandidates, activeElsewhere, emailHolders: dbHolders },
  });
  const { decisions, emailHolders } = matches;
  const shared = (email: string | null) => sharedEmail(matches, email);

  // E. Build the writes.
  const { writes, superseded, toDiff, pendingDeactivations } = buildWrites({
    b,
    kind,
    records,
    desired,
    existing,
    decisions,
    shared,
    derived,
    counts,
    problems,
    changes,
  });

  // F. Accounts outside this batch that now share an email lose it as a login identity.
  const sharedHolders: string[] = [];
  for (const [email, holders] of emailHolders) {
    if (holders.size < 2) continue;
    for (const a of dbHolders.get(email) ?? []) {
      if (holders.has(a.id) && a.origin !== 'manual' && !writes.has(a.id)) sharedHolders.push(a.id);
    }
  }
  const full = await tx.accounts.getMany([...toDiff.map((t) => t.accountId), ...sharedHolders]);
  const releasedEmails: Array<string | null> = [];
  for (const t of toDiff) {
    const before = full.get(t.accountId)!;
    if (before.email !== t.write.email) releasedEmails.push(before.email);
    const fields = changedFields(before, t.write);
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
  for (const id of sharedHolders) {
    const a = full.get(id)!;
    const email = a.email!;
    if (!a.identities.some((i) => i.type === 'email' && i.value === email)) continue;
    writes.set(a.id, {
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

  if (known) for (const w of writes.values()) known.add(w.write);
  gate?.decided();
  await tx.accounts.writeMany([...writes.values()]);
  for (const src of new Set(superseded.map((x) => x.source))) {
    const ids = superseded.filter((x) => x.source === src).map((x) => x.id);
    await tx.records.archive({ district: b.district, source: src }, b.entity, ids, b.runId);
  }
  if (pendingDeactivations.length > 0 && b.runId !== null)
    await tx.accounts.addPendingDeactivations(b.runId, pendingDeactivations);
  await tx.accounts.appendChanges(changes);
  counts.updated += await regrantReleasedEmails(tx, b.district, releasedEmails, b.runId);
  return { counts, problems, pendingDeactivations, superseded };
}

/**
 * Step A of provisioning, per record: what the rules (and any overrides) say its account should be,
 * into `desired`. Apart from provisionGated for the same reason as {@link buildWrites}.
 */
function deriveDesired(
  entity: 'students' | 'staff' | 'contacts',
  kind: AccountKind,
  b: ProvisionBatch,
  records: ReadonlyArray<ProvisionRecord>,
  existing: ReadonlyMap<string, AccountHead>,
  overridesByRecord: ReadonlyMap<string, StaffOverrideFields[]>,
  desired: Map<string, DesiredAccount>,
): void {
  for (const r of records) {
    let d = deriveAccount(entity, r.sourceId, b.source, accountFields(r), b.config);
    const a = existing.get(r.sourceId);
    // "Source controls access" off: the mapping applies at creation only; later local edits stick.
    if (kind === 'staff' && !b.config.access.sourceControlsAccess && a?.access)
      d = { ...d, access: a.access };
    const o = overridesByRecord.get(r.sourceId);
    if (o) d = applyOverrides(d, o);
    desired.set(r.sourceId, d);
  }
}

/** What building a batch's writes reads (see {@link buildWrites}). */
interface WritePlan {
  b: ProvisionBatch;
  kind: AccountKind;
  records: ReadonlyArray<ProvisionRecord>;
  desired: ReadonlyMap<string, DesiredAccount>;
  /** The accounts linked to the batch's records. */
  existing: ReadonlyMap<string, AccountHead>;
  decisions: ReadonlyMap<string, MatchDecision>;
  /** Whether an email is held by more than one account (not a login identity then). */
  shared: (email: string | null) => boolean;
  derived: (r: ProvisionRecord) => NonNullable<AccountWrite['derived']>;
  /** Added to: */
  counts: AccountCounts;
  problems: RunProblem[];
  changes: ChangeWrite[];
}

/**
 * Step E of provisioning: the account writes the batch's decisions come to, by account id. A function
 * of its own (the per-record loop of a first sync) so that V8 compiles it apart from the rest of
 * provisionGated, which deoptimizes and is compiled again on each new shape it meets.
 */
function buildWrites(p: WritePlan): {
  writes: Map<string, { write: AccountWrite; isNew: boolean }>;
  superseded: Array<{ source: SourceKind; id: string }>;
  toDiff: Array<{ accountId: string; write: AccountWrite; reactivated: boolean }>;
  pendingDeactivations: Array<{ accountId: string; kind: AccountKind; reason: string }>;
} {
  const { b, kind, records, desired, existing, decisions, shared, derived, counts, problems, changes } = p;
  const writes = new Map<string, { write: AccountWrite; isNew: boolean }>();
  /** Records of another source whose accounts were linked here: archived, so no one is counted twice. */
  const superseded: Array<{ source: SourceKind; id: string }> = [];
  /** Linked accounts whose stored state differs: the changed fields go into the feed. */
  const toDiff: Array<{ accountId: string; write: AccountWrite; reactivated: boolean }> = [];
  const pendingDeactivations: Array<{ accountId: string; kind: AccountKind; reason: string }> = [];
  for (const r of records) {
    const d = desired.get(r.sourceId)!;
    const acct = existing.get(r.sourceId);
    const identities =
      d.email && !shared(d.email)
        ? withIdentity<{ type: IdentityType; value: string }>(d.identities, { type: 'email', value: d.email })
        : d.identities;
    if (d.email && shared(d.email) && d.eligible) {
      problems.push({
        severity: 'warning',
        entity: b.entity,
        recordId: r.sourceId,
        field: 'email',
        reason: 'email is shared with another account; it is not used as a login identity',
      });
    }
    const sorted = sortIdentities(identities);
    /** The account the rules want, as one object literal (one shape for every write; no spreads). */
    const accountWrite = (id: string, origin: AccountWrite['origin']): AccountWrite => ({
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
      identities: sorted,
      derived: derived(r),
    });

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
      const write = accountWrite(acct.id, acct.origin);
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
    if (dec.kind === 'link') {
      const m = dec.account;
      if (m.recordSource && m.recordSource !== b.source && m.recordSourceId) {
        superseded.push({ source: m.recordSource, id: m.recordSourceId });
      }
      writes.set(m.id, { write: accountWrite(m.id, 'sync'), isNew: false });
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
      continue;
    }
    const id = uuidv7();
    writes.set(id, { write: accountWrite(id, 'sync'), isNew: true });
    counts.provisioned++;
    changes.push({ district: b.district, accountId: id, kind: 'created', fields: [], runId: b.runId });
  }

  return { writes, superseded, toDiff, pendingDeactivations };
}
