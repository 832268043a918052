import type { AccountKind, IdentityType } from '../model/account.js';
import { SOURCE_PRECEDENCE } from '../model/entities.js';
import type { SourceKind } from '../model/entities.js';
import type { AccountHead, StoredAccount } from '../model/stored-account.js';
import type { DesiredAccount } from './derive.js';

/**
 * Identity matching, as a pure function: which existing account a record new to its source
 * belongs to, and which emails are login identities. The store reads it needs are made beforehand
 * (see {@link identityLookups} for what to read); nothing here reads or writes the store.
 *
 * The rules:
 * - a record is matched by the district's key first, then (when the district asks) by email;
 * - a value is matched only against accounts of the record's kind; an empty value is no value
 *   (derive.ts drops it), so it never matches;
 * - two candidate accounts are a conflict (reported; no account is created or linked);
 * - a manual account is never linked: holding the value, it is a conflict to resolve by hand;
 * - an account linked to another active record of the same source is that record's; but when the
 *   batch may wait (`deferClaims`, a stream's batch), such a claim waits for the end of the stream,
 *   where an absent old record makes it a re-key (see rekey.ts), and a claim the end of the stream
 *   found to be a re-key (`rekeys`) links the account;
 * - accounts move between sources one way only (see SOURCE_PRECEDENCE);
 * - an email is a login identity only when exactly one active account holds it, so a shared email
 *   is nobody's, and is never a matching key. A record of the batch counts as the account it has
 *   or will be linked to, so a person never shares with themselves.
 */

/**
 * What matching decided for a record that has no account yet. A link with `rekeyFrom` moves the
 * account from that record of the same source (a re-key); `wait` claims an account still linked to
 * another record of the same source, to be decided at the end of the stream (see rekey.ts).
 */
export type MatchDecision =
  | { kind: 'link'; account: StoredAccount; rekeyFrom?: string }
  | { kind: 'conflict'; reason: string }
  | { kind: 'create' }
  | { kind: 'wait'; account: StoredAccount; oldId: string };

/** The identity values a batch's matching needs looked up (see {@link identityLookups}). */
export interface IdentityLookups {
  /** The records that have no account and that the rules make eligible: the ones matched. */
  unlinked: ReadonlyArray<{ sourceId: string }>;
  /** The district's key type for this kind, when any unlinked record has a key. */
  keyType: IdentityType | undefined;
}

/** What the store holds of a batch's identities, read before matching (see {@link identityLookups}). */
export interface IdentityCandidates {
  /** Accounts holding each key value of the unlinked records (any status), by value. */
  byKey: ReadonlyMap<string, StoredAccount[]>;
  /** Accounts holding each email of the unlinked records as an identity, by email. */
  byEmail: ReadonlyMap<string, StoredAccount[]>;
  /**
   * `${source}\u0000${id}` of the records of other sources that candidate accounts are linked to,
   * for those still active.
   */
  activeElsewhere: ReadonlySet<string>;
  /** Active accounts whose email is one of the batch's emails, by email. */
  emailHolders: ReadonlyMap<string, AccountHead[]>;
}

export interface MatchInput {
  district: string;
  kind: AccountKind;
  source: SourceKind;
  matchByEmail: boolean;
  /** The batch's records that provisioning looks at. */
  records: ReadonlyArray<{ sourceId: string }>;
  /**
   * A claim on an account linked to another active record of the same source waits (a `wait`
   * decision) instead of being a conflict: set for a stream's batches, whose snapshot is not yet
   * complete. Default false.
   */
  deferClaims?: boolean;
  /** Claims found to be re-keys: new record's source id → the old record's (see rekey.ts). */
  rekeys?: ReadonlyMap<string, string>;
  /** What the rules derived for each of `records`, by source id (exactly their ids). */
  desired: ReadonlyMap<string, DesiredAccount>;
  /** The accounts already linked to `records`, by source id. */
  linked: ReadonlyMap<string, { id: string }>;
  /** From {@link identityLookups}. */
  unlinked: ReadonlyArray<{ sourceId: string }>;
  candidates: IdentityCandidates;
}

export interface IdentityMatches {
  /** By source id, for each unlinked record with a key, or matched by email. Absent: create. */
  decisions: Map<string, MatchDecision>;
  /**
   * The ids of the accounts holding each email, the batch's records counted as the account they
   * have or will have (`new:<source id>` for one to be created). See {@link sharedEmail}.
   */
  emailHolders: Map<string, Set<string>>;
}

/** Whether an email is held by more than one account: then it is nobody's login identity. */
export function sharedEmail(m: IdentityMatches, email: string | null): boolean {
  return email !== null && (m.emailHolders.get(email)?.size ?? 0) > 1;
}

/** Which records matching looks at, and by which key type (see {@link IdentityCandidates}). */
export function identityLookups(
  records: ReadonlyArray<{ sourceId: string }>,
  desired: ReadonlyMap<string, DesiredAccount>,
  linked: ReadonlyMap<string, unknown>,
): IdentityLookups {
  const unlinked = records.filter((r) => !linked.has(r.sourceId) && desired.get(r.sourceId)!.eligible);
  const keyType = unlinked.map((r) => desired.get(r.sourceId)!.key?.type).find((t) => t !== undefined);
  return { unlinked, keyType };
}

export function matchIdentities(input: MatchInput): IdentityMatches {
  const { desired, candidates, unlinked } = input;
  const matcher = new Matcher(input);
  const decisions = new Map<string, MatchDecision>();

  // By the district's key first.
  for (const r of unlinked) {
    const d = desired.get(r.sourceId)!;
    if (!d.key) continue;
    const dec = matcher.decide(r.sourceId, d.key.type, d.key.value, candidates.byKey.get(d.key.value));
    decisions.set(r.sourceId, dec);
    if (dec.kind === 'link' || dec.kind === 'wait')
      matcher.claim(d.key.type, d.key.value, {
        ...dec.account,
        recordSource: input.source,
        recordSourceId: r.sourceId,
        status: 'active',
      });
    if (dec.kind === 'create') matcher.claim(d.key.type, d.key.value, pseudoAccount(input, r.sourceId));
  }

  const emailHolders = holdersOf(input, decisions);

  // Still unmatched: by email, when the email is held by that one account only.
  if (input.matchByEmail) {
    const byEmail = unlinked.filter(
      (r) => (decisions.get(r.sourceId)?.kind ?? 'create') === 'create' && desired.get(r.sourceId)!.email,
    );
    for (const r of byEmail) {
      const email = desired.get(r.sourceId)!.email!;
      const dec = matcher.decide(r.sourceId, 'email', email, candidates.byEmail.get(email));
      // An email conflict is no reason to refuse an account: create one.
      if (dec.kind !== 'link' && dec.kind !== 'wait') continue;
      const others = [...(emailHolders.get(email) ?? [])].filter(
        (id) => id !== `new:${r.sourceId}` && id !== dec.account.id,
      );
      if (others.length > 0) continue; // shared: never a matching key
      decisions.set(r.sourceId, dec);
      const set = emailHolders.get(email)!;
      set.delete(`new:${r.sourceId}`);
      set.add(dec.account.id);
      matcher.claim('email', email, {
        ...dec.account,
        recordSource: input.source,
        recordSourceId: r.sourceId,
        status: 'active',
      });
    }
  }
  return { decisions, emailHolders };
}

/** The id of the account a batch record has or will be linked to; `new:<source id>` for a new one. */
function targetOf(
  input: MatchInput,
  decisions: ReadonlyMap<string, MatchDecision>,
  sourceId: string,
): string {
  const dec = decisions.get(sourceId);
  // A waiting claim counts as the account it waits for: if it is no re-key, it is a conflict that
  // holds no email (or an email claim that creates an account and then shares it, as before).
  return (
    input.linked.get(sourceId)?.id ??
    (dec?.kind === 'link' || dec?.kind === 'wait' ? dec.account.id : `new:${sourceId}`)
  );
}

/** Who holds each email: the store's active holders outside the batch, and the batch's records. */
function holdersOf(
  input: MatchInput,
  decisions: ReadonlyMap<string, MatchDecision>,
): Map<string, Set<string>> {
  const { desired, records } = input;
  const emailHolders = new Map<string, Set<string>>();
  const batchTargets = new Set(records.map((r) => targetOf(input, decisions, r.sourceId)));
  for (const [email, accounts] of input.candidates.emailHolders) {
    for (const a of accounts) {
      // `desired` has exactly the batch's records: their accounts are counted from the records below.
      if (a.recordSource === input.source && a.recordSourceId !== null && desired.has(a.recordSourceId))
        continue;
      if (batchTargets.has(a.id)) continue;
      hold(emailHolders, email, a.id);
    }
  }
  for (const r of records) {
    const d = desired.get(r.sourceId)!;
    // A record that will get no account (a key conflict) holds no email either.
    if (d.eligible && d.email && decisions.get(r.sourceId)?.kind !== 'conflict')
      hold(emailHolders, d.email, targetOf(input, decisions, r.sourceId));
  }
  return emailHolders;
}

function hold(emailHolders: Map<string, Set<string>>, email: string, id: string): void {
  let set = emailHolders.get(email);
  if (!set) emailHolders.set(email, (set = new Set()));
  set.add(id);
}

/** Decides one value against its candidates, counting the accounts earlier records of the batch claimed. */
class Matcher {
  /** Accounts claimed in this batch, by identity, carrying their new link, so two records cannot share one. */
  private readonly claimed = new Map<string, StoredAccount[]>();

  constructor(private readonly input: MatchInput) {}

  claim(type: IdentityType, value: string, a: StoredAccount): void {
    const k = `${type}\u0000${value}`;
    const list = this.claimed.get(k);
    if (list) list.push(a);
    else this.claimed.set(k, [a]);
  }

  decide(
    sourceId: string,
    type: IdentityType,
    value: string,
    fromDb: StoredAccount[] | undefined,
  ): MatchDecision {
    const { kind, source } = this.input;
    const inBatch = this.claimed.get(`${type}\u0000${value}`);
    // Most records of a first sync: no account holds the value.
    if (!fromDb?.length && !inBatch) return { kind: 'create' };
    const byId = new Map<string, StoredAccount>();
    for (const a of [...(fromDb ?? []), ...(inBatch ?? [])]) if (a.kind === kind) byId.set(a.id, a);
    const cands = [...byId.values()];
    if (cands.length === 0) return { kind: 'create' };
    if (cands.length > 1)
      return {
        kind: 'conflict',
        reason: `${cands.length} accounts hold its ${type}; no account was created or linked`,
      };
    const c = cands[0]!;
    if (c.origin === 'manual')
      return {
        kind: 'conflict',
        reason: `a manually created account holds its ${type}; link or remove it by hand`,
      };
    if (c.recordSource === source && c.recordSourceId !== sourceId && c.status === 'active') {
      const rekeyFrom = this.input.rekeys?.get(sourceId);
      if (rekeyFrom !== undefined && rekeyFrom === c.recordSourceId)
        return { kind: 'link', account: c, rekeyFrom };
      // Whether the other record is gone is known only once the stream is complete (see rekey.ts).
      if (this.input.deferClaims && c.recordSourceId !== null)
        return { kind: 'wait', account: c, oldId: c.recordSourceId };
      return {
        kind: 'conflict',
        reason: `its ${type} belongs to the account of another ${source} record (${c.recordSourceId ?? '?'})`,
      };
    }
    // Moving between sources goes one way (csv → clever): a record of a lower-precedence source never
    // takes an account from an active record of a higher one, so a district sending both cannot
    // make accounts flip between them every night.
    if (
      c.recordSource !== null &&
      c.recordSource !== source &&
      c.recordSourceId !== null &&
      this.input.candidates.activeElsewhere.has(`${c.recordSource}\u0000${c.recordSourceId}`) &&
      SOURCE_PRECEDENCE[source] <= SOURCE_PRECEDENCE[c.recordSource]
    ) {
      return {
        kind: 'conflict',
        reason: `its ${type} belongs to the account of an active ${c.recordSource} record; a district sends one source at a time`,
      };
    }
    return { kind: 'link', account: c };
  }
}

/** Stands for an account this batch will create, so a second record with the same key conflicts. */
function pseudoAccount(input: MatchInput, sourceId: string): StoredAccount {
  return {
    id: `new:${sourceId}`,
    district: input.district,
    kind: input.kind,
    status: 'active',
    origin: 'sync',
    recordSource: input.source,
    recordSourceId: sourceId,
    name: {},
    email: null,
    title: null,
    roles: [],
    access: null,
    identities: [],
    createdAt: '',
    updatedAt: '',
    deactivatedAt: null,
    stateHash: null,
    recordHash: null,
    deriveVersion: null,
    syncedHash: null,
  };
}
