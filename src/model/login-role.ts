/** The roles a Clever login can carry (`/me` data.type, `/userinfo` user_type). */
export const CLEVER_LOGIN_ROLES = [
  'student',
  'teacher',
  'staff',
  'district_admin',
  'school_admin',
  'contact',
] as const;
export type CleverLoginRole = (typeof CLEVER_LOGIN_ROLES)[number];

export function isCleverLoginRole(v: unknown): v is CleverLoginRole {
  return typeof v === 'string' && (CLEVER_LOGIN_ROLES as readonly string[]).includes(v);
}
