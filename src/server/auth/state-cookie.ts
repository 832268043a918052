import { randomBytes } from 'node:crypto';
import type {} from '@fastify/cookie';
import type { FastifyReply, FastifyRequest } from 'fastify';

/** The login-state cookie: binds a `state` to the browser that started the login. */
const COOKIE = 'rostersync_sso_state';

/** How long a started login may take (s): a person picking their account on Clever's page. */
export const STATE_TTL_SECONDS = 600;

interface StateValue {
  /** The `state` sent to Clever. */
  s: string;
  /** Our district id the login was started for; null: any. */
  d: string | null;
  /** Expiry, epoch ms (the cookie's Max-Age is only the browser's word). */
  e: number;
}

export interface StartedLogin {
  district: string | null;
}

/** Cookie settings shared by setting and clearing: scoped to the callback's path. */
export function cookieScope(redirectUri: string): { path: string; secure: boolean } {
  const u = new URL(redirectUri);
  return { path: u.pathname, secure: u.protocol === 'https:' };
}

/** Starts a login: a fresh `state`, remembered in a signed cookie on the reply. */
export function startLogin(
  reply: FastifyReply,
  scope: { path: string; secure: boolean },
  district: string | null,
  now: number,
): string {
  const state = randomBytes(24).toString('base64url');
  const value: StateValue = { s: state, d: district, e: now + STATE_TTL_SECONDS * 1000 };
  reply.setCookie(COOKIE, Buffer.from(JSON.stringify(value)).toString('base64url'), {
    ...scope,
    signed: true,
    httpOnly: true,
    // Lax: the callback is a top-level navigation from Clever, which Lax cookies go along with.
    sameSite: 'lax',
    maxAge: STATE_TTL_SECONDS,
  });
  return state;
}

/**
 * The login this browser started with `state`, or null when the cookie is missing, forged,
 * expired or for another state. The cookie is cleared either way: a state is good for one callback.
 */
export function finishLogin(
  req: FastifyRequest,
  reply: FastifyReply,
  scope: { path: string; secure: boolean },
  state: string,
  now: number,
): StartedLogin | null {
  const raw = req.cookies[COOKIE];
  if (raw === undefined) return null;
  reply.clearCookie(COOKIE, scope);
  const unsigned = req.unsignCookie(raw);
  if (!unsigned.valid || unsigned.value === null) return null;
  let v: Partial<StateValue>;
  try {
    v = JSON.parse(Buffer.from(unsigned.value, 'base64url').toString('utf8')) as Partial<StateValue>;
  } catch {
    return null;
  }
  if (typeof v.s !== 'string' || typeof v.e !== 'number' || v.e <= now || v.s !== state) return null;
  return { district: typeof v.d === 'string' ? v.d : null };
}
