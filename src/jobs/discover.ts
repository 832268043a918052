import type { Config } from '../config.js';
import { RostersyncError } from '../shared/errors.js';
import { fetchDistrictTokens } from '../sources/clever-app-tokens.js';
import type { SecretBox } from '../store/secrets.js';
import type { Store } from '../store/store.js';

export interface DiscoveredDistrict {
  /** Our id for the district (Clever's district id, for a district discovery added). */
  id: string;
  cleverDistrictId: string;
  added: boolean;
}

/**
 * `districts discover`: lists the districts that authorised the Clever app and registers those the
 * store does not know yet (our id = Clever's district id), each with its token stored encrypted. A
 * district known already keeps its id and settings; running discovery again adds nothing twice.
 */
export async function discoverDistricts(
  store: Store,
  config: Config,
  box: () => SecretBox,
): Promise<DiscoveredDistrict[]> {
  const c = config.clever;
  if (!c.clientId || !c.clientSecret) {
    throw new RostersyncError(
      'config',
      'clever.clientId and clever.clientSecret: both are needed to discover districts (ROSTERSYNC_CLEVER_CLIENT_ID, ROSTERSYNC_CLEVER_CLIENT_SECRET or their _FILE forms)',
    );
  }
  const listed = await fetchDistrictTokens({
    baseUrl: c.url,
    clientId: c.clientId,
    clientSecret: c.clientSecret,
    timeoutMs: c.timeoutMs,
  });
  const out: DiscoveredDistrict[] = [];
  for (const t of listed) {
    const known = await store.districts.getByCleverId(t.cleverDistrictId);
    if (known) {
      out.push({ id: known.id, cleverDistrictId: t.cleverDistrictId, added: false });
      continue;
    }
    await store.districts.ensure(t.cleverDistrictId, t.cleverDistrictId, t.cleverDistrictId);
    await store.districts.setToken(t.cleverDistrictId, t.token, box());
    out.push({ id: t.cleverDistrictId, cleverDistrictId: t.cleverDistrictId, added: true });
  }
  return out;
}
