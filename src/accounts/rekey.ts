import type { AccountKind } from '../model/account.js';

/**
 * Re-keys, as a pure decision. A source gives a person a new id now and then (Clever: a changed
 * `sis_id` or staff email, a split multi-role user, a long absence, a district re-importing its
 * SIS) while the district's key stays. Within one run, the new record's claim on the account (by
 * key, or by an unshared email where the key is empty) meets the account still linked to the old
 * record, and whether that old record is gone is known only once the stream's snapshot is complete.
 * So such a claim waits (provisioning returns it as a {@link WaitingClaim}) and is decided at the
 * end of the stream by {@link decideRekeys}:
 * - the old record is absent and the account is claimed by this one new record: a re-key (the
 *   account moves to the new record, its old identities are kept as former ones, the old record is
 *   archived without touching the account);
 * - the old record is still there (a true duplicate), or two new records claim one account: the
 *   claims stay what they were before re-keys existed (conflicts; an email claim creates an
 *   account), decided again by provisioning without waiting.
 *
 * The events sync decides the same way for a batch of events: the ids of its `users.deleted` (and
 * of earlier batches of the run) are the absent old records and its `users.created` that claim
 * their accounts are the waiting claims, in either order within the batch; a claim whose old record
 * is still there waits for a later batch of the run (see settleBatchClaims in sync/rekeys.ts).
 */

/** A new record's claim on an account linked to another record of the same source, not yet decided. */
export interface WaitingClaim {
  /** The new record's source id. */
  newId: string;
  /** The record the account is linked to now. */
  oldId: string;
  accountId: string;
  accountKind: AccountKind;
}

export interface RekeyDecisions<C extends WaitingClaim> {
  /** Claims that are re-keys: the account moves from `oldId` to `newId`. */
  rekeys: C[];
  /** Claims that are not: provision them again without waiting (conflicts as before, or creations). */
  rest: C[];
}

/**
 * Which waiting claims are re-keys. `absent`: whether a record of the stream is absent from its
 * complete snapshot (or deleted, for events). A claim is a re-key when its old record is absent and
 * no other claim names the same account or the same old record; everything else is in `rest`.
 * A claim listed twice (the same new record) counts once.
 */
export function decideRekeys<C extends WaitingClaim>(
  claims: readonly C[],
  absent: (oldId: string) => boolean,
): RekeyDecisions<C> {
  const unique = new Map<string, C>();
  for (const c of claims) if (!unique.has(c.newId)) unique.set(c.newId, c);
  const perAccount = new Map<string, number>();
  const perOld = new Map<string, number>();
  for (const c of unique.values()) {
    perAccount.set(c.accountId, (perAccount.get(c.accountId) ?? 0) + 1);
    perOld.set(c.oldId, (perOld.get(c.oldId) ?? 0) + 1);
  }
  const rekeys: C[] = [];
  const rest: C[] = [];
  for (const c of unique.values()) {
    const alone = perAccount.get(c.accountId) === 1 && perOld.get(c.oldId) === 1;
    if (alone && c.newId !== c.oldId && absent(c.oldId)) rekeys.push(c);
    else rest.push(c);
  }
  return { rekeys, rest };
}
