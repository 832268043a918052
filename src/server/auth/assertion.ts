import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import type { StoredAccount } from '../../model/stored-account.js';
import type { AssertionKey } from './signing-key.js';

/** Lifetime of a sign-in assertion (s): long enough for one redirect, too short to be replayed later. */
export const ASSERTION_TTL_SECONDS = 60;

/**
 * The signed assertion a signed-in browser carries to the vendor's app: `sub` is the account id;
 * `kind`, `roles`, `district` (our district id), `clever_user_id` and `login_role` say who it is;
 * `jti` is unique, so the app can refuse a replay. Issuer: the origin of the callback URL;
 * audience: the origin of `sso.appUrl` when set.
 */
export async function signAssertion(
  key: AssertionKey,
  claims: {
    account: Pick<StoredAccount, 'id' | 'kind' | 'roles'>;
    district: string;
    cleverUserId: string;
    loginRole: string | null;
    issuer: string;
    audience: string | null;
  },
): Promise<string> {
  const jwt = new SignJWT({
    kind: claims.account.kind,
    roles: [...claims.account.roles],
    district: claims.district,
    clever_user_id: claims.cleverUserId,
    login_role: claims.loginRole,
  })
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT' })
    .setSubject(claims.account.id)
    .setJti(randomUUID())
    .setIssuer(claims.issuer)
    .setIssuedAt()
    .setExpirationTime(`${ASSERTION_TTL_SECONDS}s`);
  if (claims.audience !== null) jwt.setAudience(claims.audience);
  return jwt.sign(key.privateKey);
}
