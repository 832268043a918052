import type { Admin } from '../../store/queries/admins.js';
import type { DistrictRow } from '../../store/queries/districts.js';
import type { Store } from '../../store/store.js';
import { RostersyncError } from '../../shared/errors.js';

/**
 * What the admin pages show, read through the store: one function per page, each scoped to what
 * the signed-in admin may see (a district admin sees their district only; anything else is "not
 * found", so a district admin cannot even learn that another district exists).
 */

export function canSee(admin: Admin, district: string): boolean {
  return admin.district === null || admin.district === district;
}

export function notFound(what: string): RostersyncError {
  return new RostersyncError('not_found', `${what} does not exist`);
}

export async function visibleDistrict(store: Store, admin: Admin, id: string): Promise<DistrictRow> {
  const d = canSee(admin, id) ? await store.districts.get(id) : undefined;
  if (!d) throw notFound(`district ${id}`);
  return d;
}
