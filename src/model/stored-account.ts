import type { Account, AccountChangeKind } from './account.js';

/**
 * Accounts as the store keeps them and as provisioning writes them: the domain account plus what
 * a sync needs to skip unchanged work (state and record hashes), a write without the store's
 * timestamps, and an entry for the change feed.
 */

export interface StoredAccount extends Account {
  /** accountStateHash of the stored state. */
  stateHash: string | null;
  /** What the last sync derived the account from (see migration 0002). */
  recordHash: string | null;
  deriveVersion: string | null;
  syncedHash: string | null;
}

/** An account without its identities: enough to decide whether anything needs writing. */
export type AccountHead = Pick<
  StoredAccount,
  | 'id'
  | 'district'
  | 'kind'
  | 'status'
  | 'origin'
  | 'recordSource'
  | 'recordSourceId'
  | 'email'
  | 'access'
  | 'stateHash'
  | 'recordHash'
  | 'deriveVersion'
  | 'syncedHash'
>;

/** What a write stores of an account (timestamps are the store's). */
export type AccountWrite = Omit<Account, 'createdAt' | 'updatedAt' | 'deactivatedAt'> & {
  /** Set when a sync derived this state from a record: lets later syncs skip the unchanged. */
  derived?: { recordHash: string | null; version: string } | null;
};

export interface ChangeWrite {
  district: string;
  accountId: string;
  kind: AccountChangeKind;
  fields: string[];
  runId: string | null;
}
