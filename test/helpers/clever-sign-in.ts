import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { expect } from 'vitest';
import type { ServiceMetrics } from '../../src/jobs/service-metrics.js';
import type { Logger } from '../../src/shared/logger.js';
import { buildApp } from '../../src/server/app.js';
import type { CleverSignInConfig } from '../../src/server/auth/clever-sign-in.js';
import type { CleverSimulator } from '../../src/simulator/index.js';
import type { SecretBox } from '../../src/store/secrets.js';
import type { Store } from '../../src/store/store.js';

/** A browser's way through Clever sign-in, over real HTTP against the simulator. */

export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

export interface Served {
  app: FastifyInstance;
  base: string;
  config: CleverSignInConfig;
}

/** A real server on a real port, its callback URL naming that port. */
export async function serve(
  store: Store,
  sim: CleverSimulator,
  metrics: ServiceMetrics,
  logger: Logger,
  appUrl: string | null,
  box: SecretBox,
  signingKey: string | null = null,
  /** The server's clock (login-state expiry). Default Date.now. */
  now: () => number = Date.now,
): Promise<Served> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const config: CleverSignInConfig = {
    clientId: sim.clientId,
    clientSecret: sim.clientSecret,
    oauthUrl: sim.url,
    apiUrl: sim.url,
    apiVersion: 'v3.0',
    redirectUri: `${base}/auth/clever/callback`,
    appUrl,
    signingKey,
  };
  const app = await buildApp({
    store,
    metrics,
    signIn: { config, logger, secretBox: () => box, now },
  });
  await app.listen({ port, host: '127.0.0.1' });
  return { app, base, config };
}

export interface LoginOutcome {
  status: number;
  location: string | null;
  body: string;
  /** The callback URL Clever sent the browser to (code and state in it). */
  callback: string;
  cookie: string | null;
}

export function cookieOf(res: Response): string | null {
  const set = res.headers.getSetCookie();
  return set.length > 0 ? set.map((c) => c.split(';')[0]).join('; ') : null;
}

/**
 * A browser signing in: our login route (unless `portal`: then straight from Clever's page, with
 * no state of ours), Clever's authorize page with the user picked, then our callback with the
 * cookie the login route set. `beforeCallback` runs between Clever's redirect and the callback.
 */
export async function signIn(
  s: Served,
  sim: CleverSimulator,
  user: { id: string; role: string; simDistrict?: string },
  opts: {
    portal?: boolean;
    district?: string;
    beforeCallback?: (callback: URL) => void | Promise<void>;
  } = {},
): Promise<LoginOutcome> {
  let authorize: URL;
  let cookie: string | null = null;
  if (opts.portal) {
    authorize = new URL('/oauth/authorize', sim.url);
    authorize.searchParams.set('response_type', 'code');
    authorize.searchParams.set('client_id', sim.clientId);
    authorize.searchParams.set('redirect_uri', s.config.redirectUri);
  } else {
    const q = opts.district !== undefined ? `?district=${encodeURIComponent(opts.district)}` : '';
    const start = await fetch(`${s.base}/auth/clever/login${q}`, { redirect: 'manual' });
    expect(start.status).toBe(302);
    authorize = new URL(start.headers.get('location')!);
    expect(`${authorize.origin}${authorize.pathname}`).toBe(`${sim.url}/oauth/authorize`);
    cookie = cookieOf(start);
    expect(cookie).toMatch(/^rostersync_sso_state=/);
  }
  if (user.simDistrict !== undefined) authorize.searchParams.set('district_id', user.simDistrict);
  authorize.searchParams.set('login_as', user.id);
  authorize.searchParams.set('login_role', user.role);
  const picked = await fetch(authorize, { redirect: 'manual' });
  expect(picked.status).toBe(302);
  const callback = new URL(picked.headers.get('location')!);
  expect(`${callback.origin}${callback.pathname}`).toBe(s.config.redirectUri);
  await opts.beforeCallback?.(callback);
  return callBack(callback.toString(), cookie);
}

/** The browser arriving at our callback URL `callback`, with the login route's cookie if any. */
export async function callBack(callback: string, cookie: string | null = null): Promise<LoginOutcome> {
  const res = await fetch(callback, {
    redirect: 'manual',
    headers: cookie !== null ? { cookie } : {},
  });
  return {
    status: res.status,
    location: res.headers.get('location'),
    body: await res.text(),
    callback,
    cookie,
  };
}
