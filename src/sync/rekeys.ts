import { provisionBatch, deriveVersion } from '../accounts/provision.js';
import type { ProvisionRecord, ProvisionResult } from '../accounts/provision-batch.js';
import { decideRekeys } from '../accounts/rekey.js';
import { defaultDistrictConfig } from '../model/district-config.js';
import type { Entity } from '../model/entities.js';
import type { RunCounts, RunProblem } from '../model/run.js';
import type { PendingRekey } from '../store/queries/pending-rekeys.js';
import type { Store } from '../store/store.js';
import { addAccountCounts } from './apply-batch.js';
import type { RunContext } from './run-context.js';

/** Re-keys applied per transaction. */
const REKEY_CHUNK = 500;

/** Provisioning the records of `claims` again in this run, without waiting (the claims are settled). */
function provisionRequest(
  run: RunContext,
  entity: Entity,
  claims: ReadonlyArray<{ record: ProvisionRecord }>,
) {
  return {
    runId: run.ledger.runId,
    district: run.district!,
    source: run.source.kind,
    entity,
    config: run.config,
    deriveVersion: run.deriveVersion,
    records: claims.map((c) => c.record),
  };
}

/** The decided re-keys of `entity` as the run's pending re-keys. */
function pendingRekeys(
  run: RunContext,
  entity: Entity,
  rekeys: ReturnType<typeof decideRekeys>['rekeys'],
): PendingRekey[] {
  return rekeys.map((c) => ({
    entity,
    source: run.source.kind,
    oldId: c.oldId,
    newId: c.newId,
    accountId: c.accountId,
    accountKind: c.accountKind,
  }));
}

/**
 * The sync's side of re-keys (the decision is accounts/rekey.ts): at the end of a stream the claims
 * that waited for its snapshot are settled, and once the run passes the safety valve (or is
 * approved) the re-keys are applied, before the run's archives, so that archiving an old record
 * finds no account left on it to deactivate.
 */

/**
 * At the end of `entity`'s stream (its absent records known): the waiting claims whose old record
 * is absent become the run's pending re-keys; the others are provisioned again without waiting, as
 * they would have been before re-keys existed (conflicts, or creations for an email claim).
 * Waiting claims live in the run's memory: a run that stops before the end of a stream leaves their
 * records without accounts (nothing was written for them), and the next complete run decides them
 * again, as every record without an account is looked at on every run.
 */
export async function settleWaitingClaims(run: RunContext, entity: Entity): Promise<void> {
  const claims = run.waiting.get(entity);
  if (!claims || claims.length === 0) return;
  run.waiting.delete(entity);
  const { ledger } = run;
  const absent = await ledger.absentAmong(
    entity,
    claims.map((c) => c.oldId),
  );
  const { rekeys, rest } = decideRekeys(claims, (id) => absent.has(id));
  if (rekeys.length > 0) {
    await ledger.addRekeys(pendingRekeys(run, entity, rekeys));
  }
  if (rest.length === 0) return;
  let ended!: () => void;
  const transactionEnded = new Promise<void>((resolve) => (ended = resolve));
  const problems: RunProblem[] = [];
  const transaction = ledger.transaction(async (tx) => {
    const prov = await provisionBatch(tx, {
      ...(run.store.concurrentTransactions
        ? { order: { decisions: run.decisions, ended: transactionEnded } }
        : {}),
      ...provisionRequest(run, entity, rest),
    });
    addAccountCounts(run.counts.accounts, prov.counts);
    problems.push(...prov.problems);
  });
  void transaction.then(ended, ended);
  await transaction;
  await ledger.addProblems(problems);
  run.noteProblems(problems);
}

/**
 * An events sync decides a batch's waiting claims in the batch's own transaction `tx`, before the
 * ledger keeps the batch. A record is absent when the batch deletes it (`deleted`) or an earlier
 * batch of the run did (and this one does not send it again, `present`), so a `*.deleted` and a
 * `*.created` of one person in one batch are a re-key in either order. A claim whose old record is
 * still there waits on, in the run's memory (`RunContext.waiting`), for a later batch of the run
 * that deletes it: it is decided again with that batch's claims (a create read on an earlier page
 * than its delete is a re-key too), and at the end of the run those still waiting are decided as
 * the end of a full sync's stream decides them (see {@link settleWaitingClaims}: conflicts, as
 * before re-keys existed). The re-keys join the run's pending ones (counted and held by the safety
 * valve, applied after it, as a full sync's) in the transaction that moves the event cursor past
 * them; the claims that cannot be re-keys (two new records for one account, or one for an account
 * whose record is absent but claimed twice) are provisioned again without waiting, in it too. A
 * run that stops leaves its still waiting records without accounts, as a conflict would: the next
 * full sync (which looks at every record without an account) decides them. A delete whose create
 * comes in a later run deactivates the account as any delete does, and the create then links it.
 * Returns what provisioning gave (to add to the batch's own result) and the claims that wait on.
 */
export async function settleBatchClaims(
  run: RunContext,
  tx: Store,
  entity: Entity,
  claims: ProvisionResult['waiting'],
  batch: { deleted: readonly string[]; present: readonly string[] },
): Promise<{ provisioned: ProvisionResult | null; waiting: ProvisionResult['waiting'] }> {
  const deleted = new Set(batch.deleted);
  const present = new Set(batch.present);
  const accounts = new Set(claims.map((c) => c.accountId));
  const waiting: ProvisionResult['waiting'] = [];
  const all: ProvisionResult['waiting'] = [];
  // Claims of earlier batches come in again when this batch deletes their old record or claims their
  // account; a claim of a record this batch deletes is dropped.
  for (const c of run.waiting.get(entity) ?? []) {
    if (deleted.has(c.newId)) continue;
    if (deleted.has(c.oldId) || accounts.has(c.accountId)) all.push(c);
    else waiting.push(c);
  }
  all.push(...claims);
  if (all.length === 0) return { provisioned: null, waiting };
  const { ledger } = run;
  const earlier = await ledger.absentAmong(
    entity,
    [...new Set(all.map((c) => c.oldId).filter((id) => !deleted.has(id) && !present.has(id)))],
    tx,
  );
  const absent = (id: string) => deleted.has(id) || earlier.has(id);
  const { rekeys, rest } = decideRekeys(all, absent);
  if (rekeys.length > 0) {
    await ledger.addRekeys(pendingRekeys(run, entity, rekeys), tx);
  }
  const perAccount = new Map<string, number>();
  for (const c of rest) perAccount.set(c.accountId, (perAccount.get(c.accountId) ?? 0) + 1);
  const now: ProvisionResult['waiting'] = [];
  for (const c of rest) {
    if (!absent(c.oldId) && perAccount.get(c.accountId) === 1) waiting.push(c);
    else now.push(c);
  }
  if (now.length === 0) return { provisioned: null, waiting };
  const provisioned = await provisionBatch(tx, provisionRequest(run, entity, now));
  return { provisioned, waiting };
}

/**
 * Applies a run's pending re-keys (after the valve, or on approval): each new record is provisioned
 * with its re-key, which moves the account to it (see plan-accounts.ts), and the re-key is dropped
 * from the run's list in the same transaction. A re-key that no longer holds (the account was
 * changed by hand, the new record is gone) is decided as a plain claim and reported.
 */
export async function applyRunRekeys(
  store: Store,
  runId: string,
  district: string,
  counts: RunCounts,
): Promise<void> {
  const pending = await store.pendingRekeys.list(runId);
  if (pending.length === 0) return;
  const config = (await store.districts.get(district))?.config ?? defaultDistrictConfig();
  const version = await deriveVersion(store, district, config);
  const groups = new Map<string, PendingRekey[]>();
  for (const r of pending) {
    const k = `${r.entity}\u0000${r.source}`;
    const list = groups.get(k);
    if (list) list.push(r);
    else groups.set(k, [r]);
  }
  for (const group of groups.values()) {
    const { entity, source } = group[0]!;
    for (let i = 0; i < group.length; i += REKEY_CHUNK) {
      const part = group.slice(i, i + REKEY_CHUNK);
      await store.transaction(async (tx) => {
        const stored = await tx.records.storedData(
          { district, source },
          entity,
          part.map((r) => r.newId),
        );
        const prov = await provisionBatch(tx, {
          runId,
          district,
          source,
          entity,
          config,
          deriveVersion: version,
          records: part.flatMap((r) => {
            const s = stored.get(r.newId);
            return s ? [{ sourceId: r.newId, data: s.data, hash: s.hash }] : [];
          }),
          rekeys: new Map(part.map((r) => [r.newId, r.oldId])),
        });
        addAccountCounts(counts.accounts, prov.counts);
        counts.entities[entity].rekeyed += prov.counts.rekeyed ?? 0;
        if (prov.problems.length > 0) await tx.runs.addProblems(runId, prov.problems);
        await tx.pendingRekeys.remove(runId, part);
        await tx.runs.progressCounts(runId, counts);
      });
    }
  }
}
