import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { LOCKOUT_FAILURES } from '../../src/accounts/admin-auth.js';
import { createApiKey, verifyApiKey } from '../../src/accounts/api-keys.js';
import { ServiceMetrics } from '../../src/jobs/service-metrics.js';
import { buildApp } from '../../src/server/app.js';
import type { AdminOptions } from '../../src/server/admin/admin-plugin.js';
import { startCleverSimulator } from '../../src/simulator/index.js';
import type { CleverSimulator } from '../../src/simulator/index.js';
import { SecretBox } from '../../src/store/secrets.js';
import { Store } from '../../src/store/store.js';
import { describeEachDatabase } from '../helpers/databases.js';
import { csrfOf, keepCookies, signedInAdmin } from '../helpers/admin-session.js';
import type { InjectSession } from '../helpers/admin-session.js';
import { syncSim } from '../helpers/sync.js';

function adminOptions(extra: Partial<AdminOptions> = {}): Omit<AdminOptions, 'store'> {
  const key = SecretBox.generateKey();
  return { timezone: 'UTC', secureCookies: false, secretBox: () => SecretBox.fromString(key), ...extra };
}

describeEachDatabase('the admin web app refuses what it must', (dbs) => {
  let sim: CleverSimulator;
  let store: Store;
  let app: FastifyInstance;
  let vendor: InjectSession;
  let other: InjectSession;
  let heldRun: string;
  let account: string;
  // Every route of the admin app that names something of district d1, as [method, url].
  let d1Routes: Array<['GET' | 'POST', string]>;

  beforeAll(async () => {
    sim = await startCleverSimulator({ seed: 11, students: 120, districts: 2 });
    store = await Store.open({ location: await dbs.fresh() });
    await store.districts.ensure('d1', 'd1');
    await store.districts.ensure('d2', 'd2');
    expect((await syncSim(store, sim, { district: 'd1' })).status).toBe('succeeded');
    expect((await syncSim(store, sim, { district: 'd2', token: sim.districts[1]!.token })).status).toBe(
      'succeeded',
    );
    sim.advance(1, 'bad_sharing');
    const held = await syncSim(store, sim, { district: 'd1' });
    expect(held.status).toBe('held');
    heldRun = held.runId;
    account = (await store.accounts.list({ district: 'd1', limit: 1 }))[0]!.id;
    app = await buildApp({ store, metrics: new ServiceMetrics(), admin: adminOptions() });
    vendor = await signedInAdmin(app, store, 'vendor@example.org', null);
    other = await signedInAdmin(app, store, 'd2-admin@example.org', 'd2');
    d1Routes = [
      ['GET', '/admin/districts/d1'],
      ['GET', `/admin/runs/${heldRun}`],
      ['GET', `/admin/runs/${heldRun}/problems.csv`],
      ['GET', `/admin/runs/${heldRun}/pending.csv`],
      ['GET', `/admin/accounts/${account}`],
      ['POST', '/admin/districts/d1/run'],
      ['POST', '/admin/districts/d1/school-filter'],
      ['POST', `/admin/runs/${heldRun}/approve`],
      ['POST', `/admin/runs/${heldRun}/reject`],
    ];
  });
  afterAll(async () => {
    await app?.close();
    await store?.close();
    await sim?.close();
  });

  it('sends an anonymous visitor of every page to sign in, and refuses every form', async () => {
    const pages = [
      '/admin',
      '/admin/accounts?q=a',
      '/admin/webhooks',
      '/admin/api-keys',
      ...d1Routes.filter(([m]) => m === 'GET').map(([, u]) => u),
    ];
    for (const url of pages) {
      const r = await app.inject({ url });
      expect(r.statusCode, url).toBe(303);
      expect(r.headers.location, url).toBe(`/admin/login?next=${encodeURIComponent(url)}`);
      expect(r.body, url).toBe('');
    }
    const forms = [
      '/admin/logout',
      '/admin/webhooks',
      '/admin/webhooks/x/delete',
      '/admin/api-keys',
      '/admin/api-keys/x/revoke',
      ...d1Routes.filter(([m]) => m === 'POST').map(([, u]) => u),
    ];
    for (const url of forms) {
      const r = await app.inject({ method: 'POST', url, payload: { _csrf: vendor.csrf } });
      expect(r.statusCode, url).toBe(401);
    }
    // A made-up session cookie is no session.
    const r = await app.inject({ url: '/admin', cookies: { rostersync_admin: 'not-a-session' } });
    expect(r.statusCode).toBe(303);
    expect((await store.runs.get(heldRun))?.status).toBe('held');
    expect(await store.service.queuedRequests()).toEqual([]);
    expect(await store.apiKeys.list()).toEqual([]);
  });

  it('does not let a district admin see or act on another district, on any route', async () => {
    const dash = await app.inject({ url: '/admin', cookies: other.cookies });
    expect(dash.statusCode).toBe(200);
    expect(dash.body).toContain('/admin/districts/d2');
    expect(dash.body).not.toContain('/admin/districts/d1');
    for (const [method, url] of d1Routes) {
      const r = await app.inject({
        method,
        url,
        cookies: other.cookies,
        ...(method === 'POST' ? { payload: { _csrf: other.csrf, school: [], expected: '0' } } : {}),
      });
      expect(r.statusCode, `${method} ${url}`).toBe(404);
      // The same page as for a district that does not exist: nothing of d1 shows.
      expect(r.body, url).toContain('<h1>Not found</h1>');
    }
    // Nothing happened to d1: the run is still held, no run was asked for, its filter is unchanged.
    expect((await store.runs.get(heldRun))?.status).toBe('held');
    expect(await store.service.queuedRequests()).toEqual([]);
    expect((await store.districts.get('d1'))?.config.schoolFilter).toBeNull();
    // Account search finds nothing of d1 even by its exact id.
    const search = await app.inject({ url: `/admin/accounts?q=${account}`, cookies: other.cookies });
    expect(search.statusCode).toBe(200);
    expect(search.body).not.toContain(`/admin/accounts/${account}`);
    const vendorSearch = await app.inject({ url: `/admin/accounts?q=${account}`, cookies: vendor.cookies });
    expect(vendorSearch.body).toContain(`/admin/accounts/${account}`);
    // Webhooks are for vendor admins only.
    expect((await app.inject({ url: '/admin/webhooks', cookies: other.cookies })).statusCode).toBe(403);
    const add = await app.inject({
      method: 'POST',
      url: '/admin/webhooks',
      cookies: other.cookies,
      payload: { _csrf: other.csrf, url: 'https://example.org/hook' },
    });
    expect(add.statusCode).toBe(403);
    expect(await store.webhooks.list()).toEqual([]);
    // So are API keys: a key reads every district. Listing, creating and revoking are refused.
    const { key } = await createApiKey(store, { name: 'the vendor app', scope: 'read' });
    const keysPage = await app.inject({ url: '/admin/api-keys', cookies: other.cookies });
    expect(keysPage.statusCode).toBe(403);
    expect(keysPage.body).not.toContain(key.id);
    const create = await app.inject({
      method: 'POST',
      url: '/admin/api-keys',
      cookies: other.cookies,
      payload: { _csrf: other.csrf, name: 'mine', scope: 'admin' },
    });
    expect(create.statusCode).toBe(403);
    expect(create.body).not.toContain('rsk_');
    const revoke = await app.inject({
      method: 'POST',
      url: `/admin/api-keys/${key.id}/revoke`,
      cookies: other.cookies,
      payload: { _csrf: other.csrf },
    });
    expect(revoke.statusCode).toBe(403);
    expect((await store.apiKeys.list()).map((k) => [k.id, k.revokedAt])).toEqual([[key.id, null]]);
    expect(dash.body).not.toContain('/admin/api-keys');
    await store.apiKeys.revoke(key.id);
    // Their own district works.
    expect((await app.inject({ url: '/admin/districts/d2', cookies: other.cookies })).statusCode).toBe(200);
  });

  it('refuses a form without its CSRF token, or with a wrong one', async () => {
    for (const payload of [{}, { _csrf: 'forged' }]) {
      const r = await app.inject({
        method: 'POST',
        url: '/admin/districts/d1/run',
        cookies: vendor.cookies,
        payload,
      });
      expect(r.statusCode).toBe(403);
      expect(r.body).toContain('This form has expired');
    }
    // A token without its cookie (another browser's) is refused too.
    const { rostersync_csrf: _, ...noCsrfCookie } = vendor.cookies;
    const r = await app.inject({
      method: 'POST',
      url: '/admin/districts/d1/run',
      cookies: noCsrfCookie,
      payload: { _csrf: vendor.csrf },
    });
    expect(r.statusCode).toBe(403);
    expect(await store.service.queuedRequests()).toEqual([]);
    const ok = await app.inject({
      method: 'POST',
      url: '/admin/districts/d1/run',
      cookies: vendor.cookies,
      payload: { _csrf: vendor.csrf },
    });
    expect(ok.statusCode).toBe(303);
    expect((await store.service.queuedRequests()).map((q) => q.district)).toEqual(['d1']);
    // Creating and revoking API keys are forms like any other.
    const before = await store.apiKeys.list();
    const create = await app.inject({
      method: 'POST',
      url: '/admin/api-keys',
      cookies: vendor.cookies,
      payload: { name: 'forged', scope: 'admin' },
    });
    expect(create.statusCode).toBe(403);
    expect(create.body).not.toContain('rsk_');
    const { key } = await createApiKey(store, { name: 'kept', scope: 'read' });
    const revoke = await app.inject({
      method: 'POST',
      url: `/admin/api-keys/${key.id}/revoke`,
      cookies: vendor.cookies,
      payload: { _csrf: 'forged' },
    });
    expect(revoke.statusCode).toBe(403);
    expect(await store.apiKeys.list()).toEqual([
      ...before,
      expect.objectContaining({ id: key.id, revokedAt: null }),
    ]);
    await store.apiKeys.revoke(key.id);
  });

  it('lets a vendor admin list, create (the key shown once) and revoke API keys', async () => {
    const page = await app.inject({ url: '/admin/api-keys', cookies: vendor.cookies });
    expect(page.statusCode).toBe(200);
    const created = await app.inject({
      method: 'POST',
      url: '/admin/api-keys',
      cookies: vendor.cookies,
      payload: { _csrf: vendor.csrf, name: '  Reporting app  ', scope: 'admin' },
    });
    expect(created.statusCode).toBe(200);
    expect(created.headers['cache-control']).toBe('no-store');
    const token = /<code class="secret" data-key>(rsk_[^<]+)<\/code>/.exec(created.body)![1]!;
    const key = await verifyApiKey(store, token);
    expect(key).toMatchObject({ name: 'Reporting app', scope: 'admin', revokedAt: null });
    // Shown once: the list names the key but never holds it again.
    const listed = await app.inject({ url: '/admin/api-keys', cookies: vendor.cookies });
    expect(listed.body).toContain('Reporting app');
    expect(listed.body).toContain(`<code>${key!.id}</code>`);
    expect(listed.body).not.toContain(token);
    expect(listed.body).toContain(`/admin/api-keys/${key!.id}/revoke`);
    // Input is checked: an empty name, a scope that does not exist.
    const count = (await store.apiKeys.list()).length;
    for (const payload of [
      { name: ' ', scope: 'read' },
      { name: 'x', scope: 'root' },
    ]) {
      const bad = await app.inject({
        method: 'POST',
        url: '/admin/api-keys',
        cookies: vendor.cookies,
        payload: { _csrf: vendor.csrf, ...payload },
      });
      expect(bad.statusCode, payload.scope).toBe(400);
      expect(bad.body).toContain('role="alert"');
      expect(bad.body).not.toContain('class="secret"');
    }
    expect((await store.apiKeys.list()).length).toBe(count);
    const revoke = (id: string) =>
      app.inject({
        method: 'POST',
        url: `/admin/api-keys/${id}/revoke`,
        cookies: vendor.cookies,
        payload: { _csrf: vendor.csrf },
      });
    const r = await revoke(key!.id);
    expect(r.statusCode).toBe(303);
    expect(r.headers.location).toBe('/admin/api-keys');
    expect(await verifyApiKey(store, token)).toBeNull();
    expect((await store.apiKeys.get(key!.id))?.revokedAt).not.toBeNull();
    expect((await revoke(key!.id)).statusCode).toBe(409);
    expect((await revoke('0000000000000000')).statusCode).toBe(404);
    expect((await store.apiKeys.list()).length).toBe(count);
  });

  it('sets a session cookie that is http-only and same-site, and ends it at sign-out', async () => {
    const s = await signedInAdmin(app, store, 'leaving@example.org', 'd2');
    const login = await app.inject({ url: '/admin/login' });
    const cookies: Record<string, string> = {};
    keepCookies({ cookies }, login);
    const r = await app.inject({
      method: 'POST',
      url: '/admin/login',
      cookies,
      payload: {
        _csrf: csrfOf(login.body),
        email: 'leaving@example.org',
        password: 'a long enough password',
      },
    });
    expect(r.statusCode).toBe(303);
    const set = r.cookies.find((c) => c.name === 'rostersync_admin')!;
    expect(set.httpOnly).toBe(true);
    expect(set.sameSite).toBe('Strict');
    const out = await app.inject({
      method: 'POST',
      url: '/admin/logout',
      cookies: s.cookies,
      payload: { _csrf: s.csrf },
    });
    expect(out.statusCode).toBe(303);
    expect((await app.inject({ url: '/admin', cookies: s.cookies })).statusCode).toBe(303);
  });

  it('keeps a locked-out sign-in locked, even with the right password', async () => {
    await signedInAdmin(app, store, 'target@example.org', 'd2', 'the right password');
    const login = await app.inject({ url: '/admin/login' });
    const cookies: Record<string, string> = {};
    keepCookies({ cookies }, login);
    const csrf = csrfOf(login.body);
    const attempt = (password: string) =>
      app.inject({
        method: 'POST',
        url: '/admin/login',
        cookies,
        payload: { _csrf: csrf, email: 'Target@Example.org', password },
        // A different address each time: the lockout is per account, not the per-address rate limit.
        remoteAddress: `10.0.0.${Math.floor(Math.random() * 250) + 1}`,
      });
    for (let i = 1; i < LOCKOUT_FAILURES; i++) expect((await attempt('wrong password')).statusCode).toBe(401);
    const locked = await attempt('wrong password');
    expect(locked.statusCode).toBe(429);
    expect(locked.body).toContain('locked until');
    for (let i = 0; i < 3; i++) {
      const r = await attempt('the right password');
      expect(r.statusCode).toBe(429);
      expect(r.cookies.find((c) => c.name === 'rostersync_admin')).toBeUndefined();
    }
  });

  it('approves only what the page showed, and never a run a newer run has superseded', async () => {
    const page = await app.inject({ url: `/admin/runs/${heldRun}`, cookies: vendor.cookies });
    const shown = /name="expected" value="(\d+)"/.exec(page.body)![1]!;
    expect(Number(shown)).toBeGreaterThan(0);
    const form = (expected: string) => ({
      method: 'POST' as const,
      url: `/admin/runs/${heldRun}/approve`,
      cookies: vendor.cookies,
      payload: { _csrf: vendor.csrf, expected, confirm: 'yes' },
    });
    const changed = await app.inject(form(String(Number(shown) + 1)));
    expect(changed.statusCode).toBe(409);
    expect(changed.body).toContain('changed since you looked');
    expect((await store.runs.get(heldRun))?.status).toBe('held');
    // The district is synced again: the old run's view is stale, and approving it is refused.
    const newer = await syncSim(store, sim, { district: 'd1' });
    const stale = await app.inject(form(shown));
    expect(stale.statusCode).toBe(409);
    expect(stale.body).toContain(`superseded by run ${newer.runId}`);
    expect((await store.runs.get(heldRun))?.status).toBe('held');
    const again = await app.inject({ url: `/admin/runs/${heldRun}`, cookies: vendor.cookies });
    expect(again.body).toContain('can no longer be approved or rejected');
    expect(again.body).not.toContain('/approve"');
  });

  it('rate-limits sign-in attempts per address', async () => {
    const limited = await buildApp({
      store,
      metrics: new ServiceMetrics(),
      admin: adminOptions({ loginRateLimit: 2 }),
    });
    try {
      const login = await limited.inject({ url: '/admin/login' });
      const cookies: Record<string, string> = {};
      keepCookies({ cookies }, login);
      const codes = [];
      for (let i = 0; i < 3; i++) {
        const r = await limited.inject({
          method: 'POST',
          url: '/admin/login',
          cookies,
          payload: { _csrf: csrfOf(login.body), email: `nobody${i}@example.org`, password: 'x' },
        });
        codes.push(r.statusCode);
      }
      expect(codes).toEqual([401, 401, 429]);
    } finally {
      await limited.close();
    }
  });
});

describe('admin session cookies', () => {
  it('are Secure when the server is reached over https', async () => {
    const store = await Store.open({ location: ':memory:' });
    const app = await buildApp({
      store,
      metrics: new ServiceMetrics(),
      admin: adminOptions({ secureCookies: true }),
    });
    try {
      const s = await signedInAdmin(app, store, 'secure@example.org', null);
      expect(Object.keys(s.cookies)).toContain('rostersync_admin');
      const login = await app.inject({ url: '/admin/login' });
      expect(login.cookies.find((c) => c.name === 'rostersync_csrf')?.secure).toBe(true);
    } finally {
      await app.close();
      await store.close();
    }
  });
});
