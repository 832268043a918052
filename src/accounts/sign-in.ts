import type { AccountKind } from '../model/account.js';
import type { CleverLoginRole } from '../model/login-role.js';
import type { StoredAccount } from '../model/stored-account.js';
import type { Store } from '../store/store.js';

/** Why a Clever login found no account to sign in to. Stable codes: logs and metrics use them. */
export type SignInRefusal =
  /** The login's Clever district is not one of ours (or not the one the login was started for). */
  | 'district_not_configured'
  | 'district_mismatch'
  /** No account and no roster record holds this Clever user id in the district. */
  | 'unknown_user'
  /** The account exists but is deactivated. */
  | 'account_deactivated'
  /** The roster has the person, but the provisioning rules gave them no account (e.g. a grade outside the contract). */
  | 'not_provisioned';

export type SignInResult =
  | { ok: true; district: string; account: StoredAccount }
  | { ok: false; reason: SignInRefusal; district: string | null; accountId: string | null };

export interface CleverLogin {
  /** Clever's district id of the login (`/me` data.district). */
  cleverDistrictId: string;
  /** The Clever (v3) user id (`/me` data.id). */
  cleverUserId: string;
  /** The role this login was made in; null when Clever did not say. */
  role: CleverLoginRole | null;
  /** Our district id the login was started for (`/auth/clever/login?district=`); null: any. */
  expectedDistrict: string | null;
}

const KIND_OF_ROLE: Record<CleverLoginRole, AccountKind> = {
  student: 'student',
  teacher: 'staff',
  staff: 'staff',
  district_admin: 'staff',
  school_admin: 'staff',
  contact: 'guardian',
};

const ENTITY_OF_KIND = { student: 'students', staff: 'staff', guardian: 'contacts' } as const;

/**
 * Finds the account a Clever login signs in to, and records the sign-in (or the refusal, when the
 * login reached an account) on it. The account is the provisioned, active one of the login's
 * district whose Clever user id matches and whose kind fits the login's role: a person who is a
 * teacher and a parent, logging in as a teacher, gets the staff account. The Clever id is looked up
 * through the identities store, so any identity it resolves (a former id too) signs in.
 */
export async function signInWithClever(store: Store, login: CleverLogin): Promise<SignInResult> {
  const district = await store.districts.getByCleverId(login.cleverDistrictId);
  if (!district) return { ok: false, reason: 'district_not_configured', district: null, accountId: null };
  if (login.expectedDistrict !== null && login.expectedDistrict !== district.id)
    return { ok: false, reason: 'district_mismatch', district: district.id, accountId: null };

  // A person Clever gave a new id keeps their account; a login by the old id still finds it.
  const holders = await store.accounts.bySignInIdentity(district.id, 'clever_id', login.cleverUserId);
  const kind = login.role !== null ? KIND_OF_ROLE[login.role] : null;
  const fitting = holders.filter((a) => kind === null || a.kind === kind).sort(preferred);
  const active = fitting.find((a) => a.status === 'active');
  if (active) {
    await store.signIns.recordSignIn(active.id, district.id);
    return { ok: true, district: district.id, account: active };
  }
  const deactivated = fitting[0];
  if (deactivated) {
    await store.signIns.recordRefusal(deactivated.id, district.id, 'account_deactivated');
    return { ok: false, reason: 'account_deactivated', district: district.id, accountId: deactivated.id };
  }
  // No account: is the person on the roster at all (then the rules left them without one)?
  const kinds: AccountKind[] = kind !== null ? [kind] : ['student', 'staff', 'guardian'];
  for (const k of kinds) {
    const record = await store.records.get(
      { district: district.id, source: 'clever' },
      ENTITY_OF_KIND[k],
      login.cleverUserId,
    );
    if (record && record.archivedAt === null)
      return { ok: false, reason: 'not_provisioned', district: district.id, accountId: null };
  }
  return { ok: false, reason: 'unknown_user', district: district.id, accountId: null };
}

/** Sync accounts before manual ones, then the oldest (uuidv7 ids sort by creation). */
function preferred(a: StoredAccount, b: StoredAccount): number {
  if (a.origin !== b.origin) return a.origin === 'sync' ? -1 : 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}
