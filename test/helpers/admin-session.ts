import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { createAdmin } from '../../src/accounts/admin-auth.js';
import type { Store } from '../../src/store/store.js';

/** A signed-in admin for app.inject: its cookies, and the CSRF token of the last page read. */
export interface InjectSession {
  cookies: Record<string, string>;
  csrf: string;
}

export function keepCookies(s: { cookies: Record<string, string> }, r: LightMyRequestResponse): void {
  for (const c of r.cookies) s.cookies[c.name] = c.value;
}

export function csrfOf(body: string): string {
  const m = /name="_csrf" value="([^"]+)"/.exec(body);
  if (!m) throw new Error('no CSRF token on the page');
  return m[1]!;
}

/** Creates an admin and signs in through the setup link, as a person would. */
export async function signedInAdmin(
  app: FastifyInstance,
  store: Store,
  email: string,
  district: string | null,
  password = 'a long enough password',
): Promise<InjectSession> {
  const { setupToken } = await createAdmin(store, { email, district });
  const s: InjectSession = { cookies: {}, csrf: '' };
  const form = await app.inject({ url: `/admin/setup?token=${setupToken}` });
  keepCookies(s, form);
  const done = await app.inject({
    method: 'POST',
    url: '/admin/setup',
    cookies: s.cookies,
    payload: { _csrf: csrfOf(form.body), token: setupToken, password, confirm: password },
  });
  if (done.statusCode !== 303) throw new Error(`setup failed: ${done.statusCode} ${done.body}`);
  keepCookies(s, done);
  const home = await app.inject({ url: '/admin', cookies: s.cookies });
  keepCookies(s, home);
  s.csrf = csrfOf(home.body);
  return s;
}
