import type { IdentityType } from '../model/account.js';
import type { DistrictConfig } from '../model/district-config.js';
import { KeySet } from '../shared/key-set.js';

/**
 * The keys and emails of every account a run has written, kept for a run into a district that had
 * no accounts when it started (a first sync).
 *
 * While that holds, every account in the district was written by this run, so a key or email that is
 * not in here is held by no account and provisioning need not look it up in the store: a first sync
 * reads nothing back for its new people, where it would otherwise probe the identity index two or
 * three times for each of them. A value that is in here (or collides with one, see {@link KeySet}) is
 * looked up as usual, so duplicates across batches are still found and reported. Hand-made accounts
 * cannot appear behind a run's back: creating one takes the district's lock (see manual.ts).
 */
export class RunIdentities {
  private readonly keys = new KeySet();
  /** The identity types provisioning looks accounts up by: the district's matching keys. */
  private readonly types: ReadonlySet<IdentityType>;

  constructor(config: Pick<DistrictConfig, 'studentKey' | 'staffKey'>) {
    this.types = new Set<IdentityType>([config.studentKey, config.staffKey, 'sis_id']);
  }

  /** Records what an account written this run holds: its email and its identities of the key types. */
  add(account: {
    email: string | null;
    identities: ReadonlyArray<{ type: IdentityType; value: string }>;
  }): void {
    if (account.email !== null) this.keys.add(`email\u0000${account.email}`);
    for (const i of account.identities) {
      if (i.type === 'email' || this.types.has(i.type)) this.keys.add(`${i.type}\u0000${i.value}`);
    }
  }

  /**
   * False when no account in the district can hold `value` as `type` (for email: as its email or as
   * an identity). Types that are not recorded always answer true.
   */
  mayBeHeld(type: IdentityType, value: string): boolean {
    if (type !== 'email' && !this.types.has(type)) return true;
    return this.keys.has(`${type}\u0000${value}`);
  }
}
