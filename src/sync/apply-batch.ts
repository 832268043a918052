import { accountKindOf } from '../accounts/derive.js';
import { provisionBatch } from '../accounts/provision.js';
import type { ProvisionResult } from '../accounts/provision-batch.js';
import type { Entity } from '../model/entities.js';
import type { AccountCounts, RunProblem } from '../model/run.js';
import type { SourceStream } from '../sources/source.js';
import type { RawRefresh } from '../store/queries/raw-fingerprints.js';
import { loadStored } from './load-stored.js';
import { settleBatchClaims } from './rekeys.js';
import type { PageTurn } from './page-overlap.js';
import type { NormalizedRecord } from './reconcile.js';
import type { RunContext } from './run-context.js';

/** One batch of one entity of a stream, reconciled, as it is committed (see applyBatch). */
export interface BatchCommit {
  stream: SourceStream;
  entity: Entity;
  /** The records to write: created, updated and restored. */
  writes: NormalizedRecord[];
  /** Every record of the batch once, for provisioning (a record sent twice gets one account). */
  incoming: NormalizedRecord[];
  /** Ids stored and active that the source did not send: archived once the run passes the valve. */
  absent: string[];
  /** The batch's problems; provisioning adds its own. */
  problems: RunProblem[];
  /** Where the stream stands once this batch has committed. */
  checkpoint: { cursor: string | null; pages: number; records: number; complete: boolean };
  /** Ids an earlier page of this run may have marked absent, that turned up after all. */
  present: readonly string[];
  /** The batch's turn when pages of its stream overlap (see PageOverlap); null otherwise. */
  turn: PageTurn | null;
  /** Unchanged records whose raw item hash is to be stored (see RecordsRepo.refreshRaw). */
  rawRefresh: readonly RawRefresh[];
  /**
   * An events sync: the last event this batch completes. The district's event cursor moves to it in
   * the batch's transaction (see EventPipeline).
   */
  eventCursor?: string;
  /**
   * An events sync: the batch's claims on other records' accounts (and those of earlier batches that
   * wait on) are decided in its own transaction, with `absent` as the records it deletes (see
   * settleBatchClaims).
   */
  settleClaims?: boolean;
}

/**
 * Writes one batch in one transaction: the changed records, the accounts they imply, and what the
 * run's ledger keeps of it (archive candidates, problems, the checkpoint and the run's progress).
 * In plan mode the same transaction runs and the ledger rolls it back, so the plan counts exactly
 * what a sync would do.
 */
export async function applyBatch(run: RunContext, b: BatchCommit): Promise<void> {
  const { ledger } = run;
  const scope = run.recordScope();
  const source = run.source.stats();
  run.stats.requests = source.requests;
  run.stats.retries = source.retries;
  // Records the source recognised unchanged by their bytes, without decoding them (PageOptions.known).
  if (source.undecoded !== undefined) run.stats.undecoded = source.undecoded;
  let waiting: ProvisionResult['waiting'] = [];
  // With `settleClaims`: the entity's claims that wait on once this batch commits.
  const still: { waiting: ProvisionResult['waiting'] | null } = { waiting: null };
  let ended!: () => void;
  const transactionEnded = new Promise<void>((resolve) => (ended = resolve));
  const transaction = ledger.transaction(async (tx) => {
    await ledger.writeRecords(tx, scope, b.entity, b.writes, b.rawRefresh);
    const prov = await provisionBatch(tx, {
      ...(run.store.concurrentTransactions &&
      accountKindOf(b.entity) &&
      !(b.entity === 'contacts' && run.noGuardianAccounts)
        ? { order: { decisions: run.decisions, ended: transactionEnded } }
        : {}),
      runId: ledger.runId,
      district: run.district!,
      source: run.source.kind,
      entity: b.entity,
      config: run.config,
      deriveVersion: run.deriveVersion,
      records: b.incoming,
      loadData: (records) =>
        loadStored(
          tx,
          scope,
          records.flatMap((r) => {
            const so = (r as NormalizedRecord).storedOnly;
            return so && !so.isLoaded ? [so] : [];
          }),
        ),
      known: run.known,
      noGuardianAccounts: run.noGuardianAccounts,
      // The stream's snapshot completes only at its end: claims on other records' accounts wait for it.
      deferClaims: true,
      ...(b.turn ? { gate: b.turn.gate } : {}),
    });
    addAccountCounts(run.counts.accounts, prov.counts);
    b.problems.push(...prov.problems);
    if (b.settleClaims) {
      const settled = await settleBatchClaims(run, tx, b.entity, prov.waiting, {
        deleted: b.absent,
        present: b.present,
      });
      prov.waiting = [];
      still.waiting = settled.waiting;
      const rest = settled.provisioned;
      if (rest) {
        addAccountCounts(run.counts.accounts, rest.counts);
        b.problems.push(...rest.problems);
        prov.pendingDeactivations.push(...rest.pendingDeactivations);
        prov.superseded.push(...rest.superseded);
      }
    }
    await ledger.keepBatch(tx, b, prov);
    if (prov.waiting.length > 0) waiting = prov.waiting;
  });
  // Later batches may be waiting for this one to end: tell them before anything else.
  void transaction.then(ended, ended);
  await transaction;
  if (still.waiting !== null) {
    if (still.waiting.length > 0) run.waiting.set(b.entity, still.waiting);
    else run.waiting.delete(b.entity);
  } else if (waiting.length > 0) {
    const list = run.waiting.get(b.entity);
    if (list) list.push(...waiting);
    else run.waiting.set(b.entity, waiting);
  }
  ledger.committed(b.entity, b.writes.filter((w) => w.isNew).length);
  run.noteProblems(b.problems);
}

export function addAccountCounts(into: AccountCounts, add: Partial<AccountCounts>): void {
  for (const [k, v] of Object.entries(add) as Array<[keyof AccountCounts, number]>) into[k] += v;
}
