import type { StaffAccountFields } from '../model/account-fields.js';
import type { AccountKind, IdentityType } from '../model/account.js';
import type { DistrictConfig } from '../model/district-config.js';
import type { SourceKind } from '../model/entities.js';
import { contentHash } from '../model/hash.js';
import { emptyAccountCounts } from '../model/run.js';
import { createUuidv7 } from '../model/ids.js';
import type { AccountHead, StoredAccount } from '../model/stored-account.js';
import type { Store } from '../store/store.js';
import { regrantReleasedEmails } from './deactivation.js';
import { BatchGate } from './decision-order.js';
import { accountKindOf, parseOverrideFields } from './derive.js';
import type { DesiredAccount, StaffOverrideFields } from './derive.js';
import { identityLookups, matchIdentities } from './match-identities.js';
import type { IdentityCandidates, IdentityLookups } from './match-identities.js';
import { completePlan, deriveDesired, planAccounts } from './plan-accounts.js';
import type { AccountPlan } from './plan-accounts.js';
import { accountFields } from './provision-batch.js';
import type { ProvisionBatch, ProvisionRecord, ProvisionResult } from './provision-batch.js';
import type { RunIdentities } from './run-identities.js';

/**
 * Provisioning, run inside each batch's transaction:
 * - an active, eligible record has exactly one active account (created, or updated when what the
 *   rules derive for it changed, or reactivated when it had been deactivated);
 * - a record new to this source is first matched to an existing account by the district's key, then
 *   (optionally) by email, and linked instead of duplicated; two candidates = a reported conflict;
 * - an email held by two active accounts is a login identity of neither (reported);
 * - an account whose record stops being eligible is queued for deactivation (through the valve).
 * Manual accounts are never linked, changed or deactivated here.
 *
 * It runs in three phases, so that the store's reads and writes sit apart from the decisions, and
 * the decisions can be tested without a database:
 * 1. load the context: the batch's records that need a look and their accounts ({@link loadBatch}),
 *    then what the rules say their accounts should be (derive.ts, pure), then the accounts holding
 *    their keys and emails ({@link loadCandidates});
 * 2. plan, purely: match identities (match-identities.ts), then the writes, feed entries, counts
 *    and problems they come to (plan-accounts.ts);
 * 3. apply the plan ({@link applyPlan}): the writes, the archived take-overs, the deactivations
 *    queued for the valve, and the change feed.
 * When batches run side by side (see decision-order.ts), phase 1 reads keys and emails only once
 * the batches that decided before it have committed, and the batch tells the others it has decided
 * between phases 2 and 3, once its accounts are recorded in the run's known identities.
 */

/**
 * The version of everything besides the record that decides an account: the district's settings and
 * its overrides. An account derived from an unchanged record under the same version, and not edited
 * since, needs no work: this is what keeps a no-change re-sync cheap.
 */
export async function deriveVersion(store: Store, district: string, config: DistrictConfig): Promise<string> {
  return contentHash({ config, overrides: await store.overrides.stamp(district) });
}

export async function provisionBatch(tx: Store, b: ProvisionBatch): Promise<ProvisionResult> {
  if (!b.gate && !b.order) return provision(tx, b, null);
  const gate = new BatchGate(b.gate ?? null, b.order ?? null);
  try {
    await gate.enter();
    return await provision(tx, b, gate);
  } finally {
    gate.decided();
  }
}

async function provision(
  tx: Store,
  b: ProvisionBatch,
  /** The batch's waits when it runs beside others; told once its accounts are decided and recorded in `b.known`. */
  gate: BatchGate | null,
): Promise<ProvisionResult> {
  const kind = accountKindOf(b.entity);
  if (!kind || b.records.length === 0 || (kind === 'guardian' && b.noGuardianAccounts))
    return { counts: {}, problems: [], pendingDeactivations: [], superseded: [], waiting: [] };

  // 1. Load the context.
  const batch = await loadBatch(tx, b, kind);
  if (batch === null)
    return {
      counts: emptyAccountCounts(),
      problems: [],
      pendingDeactivations: [],
      superseded: [],
      waiting: [],
    };
  const { records, linked } = batch;
  const desired = deriveDesired(b, kind, records, linked, batch.overrides);
  const lookups = identityLookups(records, desired, linked);
  const candidates = await loadCandidates(tx, b, desired, lookups, gate);

  // 2. Plan.
  const matches = matchIdentities({
    district: b.district,
    kind,
    source: b.source,
    matchByEmail: b.config.matchByEmail,
    records,
    desired,
    linked,
    unlinked: lookups.unlinked,
    candidates,
    ...(b.deferClaims ? { deferClaims: true } : {}),
    ...(b.rekeys ? { rekeys: b.rekeys } : {}),
  });
  const plan = planAccounts({
    b,
    kind,
    records,
    desired,
    linked,
    matches,
    heldInStore: candidates.emailHolders,
    newId: createUuidv7(),
  });

  // 3. Apply it.
  return applyPlan(tx, b, plan, gate);
}

/** The records of a batch provisioning looks at, the accounts linked to them and their overrides. */
interface LoadedBatch {
  records: ProvisionRecord[];
  /** The accounts linked to `records` (any status), by source id. */
  linked: Map<string, AccountHead>;
  /** Staff overrides that apply to each record, in the order they apply. */
  overrides: Map<string, StaffOverrideFields[]>;
}

/** Null when no record of the batch needs a look. */
async function loadBatch(tx: Store, b: ProvisionBatch, kind: AccountKind): Promise<LoadedBatch | null> {
  // Quiet records: the account was derived from this very record under these rules and nobody has
  // edited it since (see AccountsRepo.quietRecords); their accounts are not even read. Nor do
  // contacts of a district that provisions no guardians need a look unless they still have an
  // account (from when it did): the rest would derive nothing.
  const stored = b.records.filter((r) => !r.isNew);
  const quiet = await tx.accounts.quietRecords(
    b.district,
    b.source,
    stored.flatMap((r) => (r.hash !== undefined ? [{ sourceId: r.sourceId, hash: r.hash }] : [])),
    b.deriveVersion,
  );
  const allLinked = await tx.accounts.byRecords(
    b.district,
    b.source,
    stored.filter((r) => !quiet.has(r.sourceId)).map((r) => r.sourceId),
  );
  const noGuardians = kind === 'guardian' && !b.config.provisionGuardians;
  const records = b.records.filter(
    (r) => !quiet.has(r.sourceId) && !(noGuardians && !allLinked.has(r.sourceId)),
  );
  if (records.length === 0) return null;
  await b.loadData?.(records);
  const batchIds = new Set(records.map((r) => r.sourceId));
  const linked = new Map([...allLinked].filter(([id]) => batchIds.has(id)));
  const overrides =
    kind === 'staff' && (await tx.overrides.hasAny(b.district))
      ? await loadOverrides(tx, b, records, linked)
      : new Map<string, StaffOverrideFields[]>();
  return { records, linked, overrides };
}

/** The staff overrides that apply to each record: by any of its identifiers, then by its account. */
async function loadOverrides(
  tx: Store,
  b: ProvisionBatch,
  records: ReadonlyArray<ProvisionRecord>,
  linked: ReadonlyMap<string, AccountHead>,
): Promise<Map<string, StaffOverrideFields[]>> {
  const overridesByRecord = new Map<string, StaffOverrideFields[]>();
  const keys: Array<{ keyType: string; keyValue: string }> = [];
  for (const r of records) {
    keys.push(...overrideKeys(accountFields(r) as StaffAccountFields));
    const a = linked.get(r.sourceId);
    if (a) keys.push({ keyType: 'account', keyValue: a.id });
  }
  const rows = await tx.overrides.find(b.district, keys);
  const byKey = new Map(rows.map((o) => [`${o.keyType}\u0000${o.keyValue}`, o]));
  for (const r of records) {
    const list: StaffOverrideFields[] = [];
    for (const k of overrideKeys(accountFields(r) as StaffAccountFields)) {
      const o = byKey.get(`${k.keyType}\u0000${k.keyValue}`);
      if (o) list.push(parseOverrideFields(o.fields));
    }
    const a = linked.get(r.sourceId);
    const manual = a ? byKey.get(`account\u0000${a.id}`) : undefined;
    if (manual) list.push(parseOverrideFields(manual.fields));
    if (list.length > 0) overridesByRecord.set(r.sourceId, list);
  }
  return overridesByRecord;
}

/** The override keys a staff record can be addressed by (staff_overrides.csv uses any identifier). */
function overrideKeys(s: StaffAccountFields): Array<{ keyType: string; keyValue: string }> {
  const out: Array<{ keyType: string; keyValue: string }> = [];
  if (s.staffId?.trim()) out.push({ keyType: 'staff_id', keyValue: s.staffId.trim() });
  if (s.sisId?.trim()) out.push({ keyType: 'sis_id', keyValue: s.sisId.trim() });
  if (s.teacherNumber?.trim()) out.push({ keyType: 'teacher_number', keyValue: s.teacherNumber.trim() });
  return out;
}

/** The accounts that hold the batch's keys and emails, for matching (see IdentityCandidates). */
async function loadCandidates(
  tx: Store,
  b: ProvisionBatch,
  desired: ReadonlyMap<string, DesiredAccount>,
  { unlinked, keyType }: IdentityLookups,
  gate: BatchGate | null,
): Promise<IdentityCandidates> {
  const known = b.known ?? null;
  const byKey =
    keyType !== undefined
      ? await tx.identities.lookup(
          b.district,
          keyType,
          await settled(
            gate,
            worthLookingUp(
              known,
              keyType,
              unlinked
                .map((r) => desired.get(r.sourceId)!.key?.value)
                .filter((v): v is string => v !== undefined),
            ),
          ),
        )
      : new Map<string, StoredAccount[]>();
  const byEmail =
    b.config.matchByEmail && unlinked.length > 0
      ? await tx.identities.lookup(
          b.district,
          'email',
          await settled(
            gate,
            worthLookingUp(
              known,
              'email',
              unlinked.map((r) => desired.get(r.sourceId)!.email).filter((e): e is string => e !== null),
            ),
          ),
        )
      : new Map<string, StoredAccount[]>();
  /** Records of other sources that candidate accounts are linked to and that are still active. */
  const activeElsewhere = new Set<string>();
  const otherLinks = new Map<SourceKind, string[]>();
  for (const list of [...byKey.values(), ...byEmail.values()]) {
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
  const emailHolders = await tx.accounts.activeByEmail(
    b.district,
    await settled(gate, worthLookingUp(known, 'email', emails)),
  );
  return { byKey, byEmail, activeElsewhere, emailHolders };
}

/** Values worth looking up: all of them, or on a first sync only those an account of this run holds. */
function worthLookingUp(
  known: RunIdentities | null,
  type: IdentityType,
  values: ReadonlyArray<string>,
): string[] {
  return known ? values.filter((v) => known.mayBeHeld(type, v)) : [...values];
}

/**
 * `values`, once they can be read: a value held by an account of this run may belong to a batch
 * that has decided and is still committing (the previous one of this stream, or one of another
 * stream).
 */
async function settled<T>(gate: BatchGate | null, values: T[]): Promise<T[]> {
  if (values.length > 0 && gate) await gate.settled();
  return values;
}

async function applyPlan(
  tx: Store,
  b: ProvisionBatch,
  plan: AccountPlan,
  gate: BatchGate | null,
): Promise<ProvisionResult> {
  const { counts, writes, superseded, pendingDeactivations } = plan;
  // The stored state of the accounts that change, for the feed's changed fields (only now is it
  // known which accounts those are).
  const before = await tx.accounts.getMany([...plan.toDiff.map((t) => t.accountId), ...plan.sharedHolders]);
  const releasedEmails = completePlan(b, plan, before);
  if (b.known) for (const w of writes.values()) b.known.add(w.write);
  gate?.decided();
  await tx.accounts.writeMany([...writes.values()]);
  for (const src of new Set(superseded.map((x) => x.source))) {
    const ids = superseded.filter((x) => x.source === src).map((x) => x.id);
    await tx.records.archive({ district: b.district, source: src }, b.entity, ids, b.runId);
  }
  if (pendingDeactivations.length > 0 && b.runId !== null)
    await tx.pendingDeactivations.add(b.runId, pendingDeactivations);
  if (plan.formerIdentities.length > 0)
    await tx.identities.addFormer(b.district, plan.formerIdentities, b.runId);
  await tx.changeFeed.append(plan.changes);
  counts.updated += await regrantReleasedEmails(tx, b.district, releasedEmails, b.runId);
  return { counts, problems: plan.problems, pendingDeactivations, superseded, waiting: plan.waiting };
}
