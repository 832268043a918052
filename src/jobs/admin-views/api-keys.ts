import type { Admin } from '../../store/queries/admins.js';
import { API_KEY_SCOPES } from '../../store/queries/api-keys.js';
import type { ApiKeyScope } from '../../store/queries/api-keys.js';
import { createApiKey, listApiKeys, revokeApiKey } from '../../accounts/api-keys.js';
import type { ApiKeyInfo } from '../../accounts/api-keys.js';
import type { Store } from '../../store/store.js';
import { RostersyncError } from '../../shared/errors.js';

/**
 * Keys of the REST API, revoked ones included. Vendor admins only: a key reads every district, so a
 * district admin holding one would see past their district.
 */
export function apiKeysPage(store: Store, admin: Admin): Promise<ApiKeyInfo[]> {
  if (admin.district !== null) throw new RostersyncError('auth', 'only vendor admins manage API keys');
  return listApiKeys(store);
}

/** Creates a key; the returned token is the only copy there will be (only its hash is stored). */
export async function addApiKey(
  store: Store,
  admin: Admin,
  name: string,
  scope: string,
): Promise<{ key: ApiKeyInfo; token: string }> {
  await apiKeysPage(store, admin);
  if (!(API_KEY_SCOPES as readonly string[]).includes(scope))
    throw new RostersyncError('input', `The scope must be one of: ${API_KEY_SCOPES.join(', ')}.`);
  return createApiKey(store, { name, scope: scope as ApiKeyScope });
}

export async function revokeKey(store: Store, admin: Admin, id: string): Promise<void> {
  await apiKeysPage(store, admin);
  await revokeApiKey(store, id);
}
