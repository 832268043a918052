import type { Admin } from '../../store/queries/admins.js';
import type { DistrictRow } from '../../store/queries/districts.js';
import type { OverrideRow } from '../../store/queries/overrides.js';
import type { AccountSignIns } from '../../store/queries/sign-ins.js';
import type { Store } from '../../store/store.js';
import type { Account, AccountChange } from '../../model/account.js';
import type { PersonName } from '../../model/entities.js';
import type { AccountSummary } from '../../store/queries/account-search.js';
import { canSee, notFound, visibleDistrict } from './access.js';

export function displayName(a: { name: PersonName }): string {
  const n = a.name;
  return [n.preferredFirst ?? n.first, n.preferredLast ?? n.last].filter(Boolean).join(' ') || '(no name)';
}

export interface AccountPage {
  account: Account;
  district: DistrictRow;
  name: string;
  overrides: OverrideRow[];
  history: AccountChange[];
  /** More history is older than what is shown. */
  moreHistory: boolean;
  /** Clever sign-ins onto this account and refused logins; null: never tried. */
  signIns: AccountSignIns | null;
}

export async function accountPage(store: Store, admin: Admin, id: string): Promise<AccountPage> {
  const d = await store.accountSearch.detail(id, { historyLimit: 200 });
  if (!d || !canSee(admin, d.account.district)) throw notFound(`account ${id}`);
  const district = await visibleDistrict(store, admin, d.account.district);
  return {
    account: d.account,
    district,
    name: displayName(d.account),
    overrides: d.overrides,
    history: d.history,
    moreHistory: d.historyBefore !== null,
    signIns: (await store.signIns.get(id)) ?? null,
  };
}

export interface AccountHit extends AccountSummary {
  displayName: string;
}

/**
 * Accounts matching a search box: those holding the text exactly as an identifier first (account
 * id, record id, any login identity), then name and email matches; within the admin's districts.
 */
export async function searchAccounts(
  store: Store,
  admin: Admin,
  q: string,
  limit = 50,
): Promise<AccountHit[]> {
  const text = q.trim();
  if (!text) return [];
  const scope = admin.district !== null ? { district: admin.district } : {};
  const exact = await store.accountSearch.search({ ...scope, identifier: text, limit });
  const fuzzy = await store.accountSearch.search({ ...scope, text, limit });
  const seen = new Set<string>();
  const out: AccountHit[] = [];
  for (const a of [...exact.items, ...fuzzy.items]) {
    if (seen.has(a.id) || out.length >= limit) continue;
    seen.add(a.id);
    out.push({ ...a, displayName: displayName(a) });
  }
  return out;
}
