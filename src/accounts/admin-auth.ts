import { createHash, randomBytes, randomUUID, scrypt, timingSafeEqual } from 'node:crypto';
import type { Admin } from '../store/queries/admins.js';
import type { Store } from '../store/store.js';
import { RostersyncError } from '../shared/errors.js';

/**
 * Sign-in of the admin web app's admins: one-time setup links, scrypt passwords, sessions and a
 * lockout. Tokens (setup, session) are long random values kept only as SHA-256 hashes.
 */

/** A setup link works this long (ms): 72 hours, so a link sent on Friday still works on Monday. */
export const SETUP_TTL_MS = 72 * 3600_000;
/** A session lasts this long (ms): 12 hours, one working day. */
export const SESSION_TTL_MS = 12 * 3600_000;
/** This many refused sign-ins of one email within LOCKOUT_WINDOW_MS lock it… */
export const LOCKOUT_FAILURES = 5;
/** …for this long (ms) after the last of them: 15 minutes. */
export const LOCKOUT_WINDOW_MS = 15 * 60_000;
/** Shortest password accepted. */
export const MIN_PASSWORD_LENGTH = 12;

// scrypt cost: N=2^15, r=8 (32 MiB per hash), the OWASP-recommended floor for scrypt.
const SCRYPT = { N: 1 << 15, r: 8, p: 1, keylen: 32, maxmem: 64 * 1024 * 1024 };

function scryptAsync(password: string, salt: Buffer, o: typeof SCRYPT): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(password, salt, o.keylen, { N: o.N, r: o.r, p: o.p, maxmem: o.maxmem }, (err, key) =>
      err ? reject(err) : resolve(key),
    ),
  );
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scryptAsync(password, salt, SCRYPT);
  return `scrypt$${SCRYPT.N}$${SCRYPT.r}$${SCRYPT.p}$${salt.toString('base64')}$${key.toString('base64')}`;
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [alg, n, r, p, salt, hash] = stored.split('$');
  if (alg !== 'scrypt' || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64');
  const key = await scryptAsync(password, Buffer.from(salt, 'base64'), {
    ...SCRYPT,
    N: Number(n),
    r: Number(r),
    p: Number(p),
    keylen: expected.length,
  });
  return timingSafeEqual(key, expected);
}

/** SHA-256 of a token, as stored. */
export function tokenHash(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

function newToken(): string {
  return randomBytes(32).toString('base64url');
}

export function normaliseEmail(email: string): string {
  return email.trim().toLowerCase();
}

/**
 * Creates an admin (or renews the setup link of an existing one) and returns the one-time setup
 * token. `district` null: a vendor admin. The district must exist.
 */
export async function createAdmin(
  store: Store,
  input: { email: string; district: string | null },
): Promise<{ admin: Admin; setupToken: string; expiresAt: string }> {
  const email = normaliseEmail(input.email);
  if (!/^[^\s@]+@[^\s@]+$/.test(email)) throw new RostersyncError('input', `not an email address: ${email}`);
  if (input.district !== null && !(await store.districts.get(input.district)))
    throw new RostersyncError('not_found', `district ${input.district} does not exist`);
  const setupToken = newToken();
  const expiresAt = new Date(store.clock().getTime() + SETUP_TTL_MS).toISOString();
  const admin = await store.admins.upsert({
    id: randomUUID(),
    email,
    district: input.district,
    setupTokenHash: tokenHash(setupToken),
    setupExpiresAt: expiresAt,
  });
  return { admin, setupToken, expiresAt };
}

/** The admin a setup token belongs to, while it is valid. */
export async function setupAdmin(store: Store, token: string): Promise<Admin | undefined> {
  const a = await store.admins.bySetupToken(tokenHash(token));
  if (!a?.setupExpiresAt || a.setupExpiresAt <= store.clock().toISOString()) return undefined;
  return a;
}

/** Sets the password through a setup token (used up) and opens a session; returns its token. */
export async function completeSetup(
  store: Store,
  token: string,
  password: string,
): Promise<{ admin: Admin; sessionToken: string }> {
  const admin = await setupAdmin(store, token);
  if (!admin) throw new RostersyncError('auth', 'this setup link is not valid any more; ask for a new one');
  if (password.length < MIN_PASSWORD_LENGTH)
    throw new RostersyncError('input', `the password must have at least ${MIN_PASSWORD_LENGTH} characters`);
  await store.admins.setPassword(admin.id, await hashPassword(password));
  await store.admins.deleteSessionsOf(admin.id);
  return { admin, sessionToken: await openSession(store, admin.id) };
}

async function openSession(store: Store, adminId: string): Promise<string> {
  const token = newToken();
  await store.admins.createSession({
    tokenHash: tokenHash(token),
    adminId,
    expiresAt: new Date(store.clock().getTime() + SESSION_TTL_MS).toISOString(),
  });
  return token;
}

/** When the email's lockout ends (ISO), or null when it is not locked. */
export async function lockedUntil(store: Store, email: string): Promise<string | null> {
  const now = store.clock().getTime();
  const since = new Date(now - LOCKOUT_WINDOW_MS).toISOString();
  const failures = await store.admins.failuresSince(normaliseEmail(email), since, LOCKOUT_FAILURES);
  if (failures.length < LOCKOUT_FAILURES) return null;
  return new Date(Date.parse(failures[0]!) + LOCKOUT_WINDOW_MS).toISOString();
}

export type SignInResult =
  | { ok: true; admin: Admin; sessionToken: string }
  | { ok: false; reason: 'invalid' | 'locked'; lockedUntil?: string };

/**
 * Checks a password. A locked email is refused without looking at the password (a right password
 * does not unlock it), and every refusal counts towards the lockout, known email or not.
 */
export async function signIn(store: Store, emailInput: string, password: string): Promise<SignInResult> {
  const email = normaliseEmail(emailInput);
  const locked = await lockedUntil(store, email);
  if (locked) return { ok: false, reason: 'locked', lockedUntil: locked };
  const admin = await store.admins.byEmail(email);
  const ok = admin?.passwordHash ? await verifyPassword(password, admin.passwordHash) : false;
  await store.admins.recordAttempt(email, ok);
  if (!ok || !admin) {
    const now = await lockedUntil(store, email);
    return now ? { ok: false, reason: 'locked', lockedUntil: now } : { ok: false, reason: 'invalid' };
  }
  return { ok: true, admin, sessionToken: await openSession(store, admin.id) };
}

export async function sessionAdmin(store: Store, token: string): Promise<Admin | undefined> {
  return store.admins.bySession(tokenHash(token));
}

export async function signOut(store: Store, token: string): Promise<void> {
  await store.admins.deleteSession(tokenHash(token));
}
