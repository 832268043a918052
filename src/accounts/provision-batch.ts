import type { AccountEntity, AccountFieldsOf } from '../model/account-fields.js';
import type { AccountKind } from '../model/account.js';
import type { DistrictConfig } from '../model/district-config.js';
import type { Entity, EntityData, SourceKind } from '../model/entities.js';
import type { AccountCounts, RunProblem } from '../model/run.js';
import type { DecisionOrder, StreamGate } from './decision-order.js';
import type { WaitingClaim } from './rekey.js';
import type { RunIdentities } from './run-identities.js';

/** What provisioning is given (a batch of one entity's records) and what it returns (see provision.ts). */

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
  /** The version of the rules (see deriveVersion in provision.ts); accounts derived under another are redone. */
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
  /**
   * A stream's batch, whose snapshot is not complete yet: a claim on an account linked to another
   * active record of the same source waits (ProvisionResult.waiting) instead of being a conflict
   * (see rekey.ts). Default false.
   */
  deferClaims?: boolean;
  /** Claims the end of a stream found to be re-keys: new record's source id → old record's (see rekey.ts). */
  rekeys?: ReadonlyMap<string, string>;
  /** When batches of one stream overlap (see sync/page-overlap.ts and decision-order.ts). */
  gate?: StreamGate;
  /**
   * The run's {@link DecisionOrder} (PostgreSQL, where streams commit side by side), and a promise
   * that settles (never rejects) when this batch's transaction has ended.
   */
  order?: { decisions: DecisionOrder; ended: Promise<void> };
}

export interface ProvisionResult {
  counts: Partial<AccountCounts>;
  problems: RunProblem[];
  /** Accounts to deactivate once the run passes the safety valve (also stored when there is a run). */
  pendingDeactivations: Array<{ accountId: string; kind: AccountKind; reason: string }>;
  /** Records of a lower source whose accounts this batch took over (they were archived). */
  superseded: Array<{ source: SourceKind; id: string }>;
  /** Claims waiting for the end of the stream (only with `deferClaims`; see rekey.ts). */
  waiting: Array<WaitingClaim & { record: ProvisionRecord }>;
}

/** What a record's account is derived from: the fields its source sent apart, or the record. */
export function accountFields(r: ProvisionRecord): AccountFieldsOf[AccountEntity] {
  return r.accountData ?? (r.data as AccountFieldsOf[AccountEntity]);
}
