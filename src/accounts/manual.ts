import { createUuidv7 } from '../model/ids.js';
import { identityValue } from '../model/account.js';
import type { Access, AccountKind, IdentityType } from '../model/account.js';
import type { PersonName, StaffRole } from '../model/entities.js';
import { RostersyncError } from '../shared/errors.js';
import type { StoredAccount } from '../model/stored-account.js';
import type { Store } from '../store/store.js';
import { withDistrictLock } from '../store/district-lock.js';
import { parseOverrideFields } from './derive.js';

export interface ManualAccountInput {
  district: string;
  kind: AccountKind;
  name: PersonName;
  email?: string;
  title?: string;
  roles?: StaffRole[];
  access?: Access;
  identities?: Array<{ type: IdentityType; value: string }>;
}

/**
 * Creates an account by hand. Manual accounts belong to no roster record: no sync ever links,
 * changes or deactivates them.
 */
export async function createManualAccount(store: Store, input: ManualAccountInput): Promise<StoredAccount> {
  if (!(await store.districts.get(input.district)))
    throw new RostersyncError('not_found', `district ${input.district} does not exist`);
  const identities: Array<{ type: IdentityType; value: string }> = [];
  for (const i of input.identities ?? []) {
    const v = identityValue(i.type, i.value);
    if (v !== null) identities.push({ type: i.type, value: v });
  }
  const email = identityValue('email', input.email);
  if (email !== null && !identities.some((i) => i.type === 'email'))
    identities.push({ type: 'email', value: email });
  const id = createUuidv7()();
  // Under the district's sync lock, so a running sync never meets an account it did not write or read
  // (a first sync relies on that: see RunIdentities). A sync in progress means: try again after it.
  await withDistrictLock(
    store,
    input.district,
    {
      id: `manual-${id}`,
      staleMs: LOCK_STALE_MS,
      busy: (holder) =>
        `district ${input.district} is being synced by run ${holder?.runId ?? '?'}; create the account when it finishes`,
    },
    () => insertManual(store, id, input, email, identities),
  );
  return (await store.accounts.get(id))!;
}

/** A lock older than this without a heartbeat belongs to a process that is gone (as for runs). */
const LOCK_STALE_MS = 600_000;

async function insertManual(
  store: Store,
  id: string,
  input: ManualAccountInput,
  email: string | null,
  identities: Array<{ type: IdentityType; value: string }>,
): Promise<void> {
  await store.transaction(async (tx) => {
    await tx.accounts.insert({
      id,
      district: input.district,
      kind: input.kind,
      status: 'active',
      origin: 'manual',
      recordSource: null,
      recordSourceId: null,
      name: input.name,
      email,
      title: input.title ?? null,
      roles: input.roles ?? [],
      access: input.access ?? null,
      identities,
    });
    await tx.changeFeed.append([
      { district: input.district, accountId: id, kind: 'created', fields: ['manual'], runId: null },
    ]);
  });
}

/**
 * Sets (merges) a local override on a staff account: these fields survive every later sync until
 * the override is removed. Takes effect at the account's next sync.
 */
export async function setAccountOverride(
  store: Store,
  accountId: string,
  fields: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  const account = await store.accounts.get(accountId);
  if (!account) throw new RostersyncError('not_found', `account ${accountId} does not exist`);
  if (account.kind !== 'staff')
    throw new RostersyncError(
      'input',
      `overrides apply to staff accounts; ${accountId} is a ${account.kind} account`,
    );
  const existing = (
    await store.overrides.find(account.district, [{ keyType: 'account', keyValue: accountId }])
  )[0];
  const merged = { ...(existing?.fields ?? {}), ...fields };
  const parsed = parseOverrideFields(merged);
  if (Object.keys(parsed).length === 0)
    throw new RostersyncError(
      'input',
      'the override sets no known field (title, email, roles, accessType, schoolIds, grades)',
    );
  await store.overrides.set({
    district: account.district,
    keyType: 'account',
    keyValue: accountId,
    fields: parsed as Record<string, unknown>,
    origin: 'manual',
  });
  return parsed as Record<string, unknown>;
}

export async function removeAccountOverride(store: Store, accountId: string): Promise<boolean> {
  const account = await store.accounts.get(accountId);
  if (!account) throw new RostersyncError('not_found', `account ${accountId} does not exist`);
  return store.overrides.remove(account.district, 'account', accountId);
}
