import { afterAll, beforeAll, expect, it } from 'vitest';
import { createApiKey, revokeApiKey } from '../../../src/accounts/api-keys.js';
import { startCleverSimulator } from '../../../src/simulator/index.js';
import type { CleverSimulator } from '../../../src/simulator/index.js';
import { Store } from '../../../src/store/store.js';
import { describeEachDatabase } from '../../helpers/databases.js';
import { capturedLogger } from '../../helpers/log-capture.js';
import { syncSim } from '../../helpers/sync.js';
import { startApi } from './api-helpers.js';
import type { ApiServer } from './api-helpers.js';

interface Parameter {
  name: string;
  in: 'path' | 'query';
  schema?: { type?: string; enum?: unknown[] };
}
interface Operation {
  parameters?: Parameter[];
  requestBody?: unknown;
  security?: Array<Record<string, unknown>>;
}
type OpenApi = { paths: Record<string, Record<string, Operation>> };

const LONG = 'x'.repeat(5000);
/** Values no parameter takes. */
const HOSTILE = [
  LONG,
  '-1',
  '0',
  '1e308',
  '99999999999999999999999',
  'NaN',
  'true',
  '[]',
  '{}',
  "'; drop table accounts; --",
  '%00',
  '\u0000',
  '../../etc/passwd',
  '𝕏'.repeat(300),
];

describeEachDatabase(
  'REST API: every documented route, without a key, with the wrong key, with hostile input',
  (dbs) => {
    let sim: CleverSimulator;
    let store: Store;
    let api: ApiServer;
    let doc: OpenApi;
    let district: string;
    const log = capturedLogger('info');

    beforeAll(async () => {
      sim = await startCleverSimulator({ seed: 8, students: 80 });
      district = sim.districts[0]!.id;
      store = await Store.open({ location: await dbs.fresh() });
      await syncSim(store, sim);
      api = await startApi(store, { logger: log.logger });
      const r = await api.call('GET', '/api/v1/openapi.json', { key: null });
      expect(r.status).toBe(200);
      doc = r.body as OpenApi;
    }, 120_000);
    afterAll(async () => {
      await api?.close();
      await store?.close();
      await sim?.close();
    });

    function operations(): Array<{ method: string; path: string; op: Operation; admin: boolean }> {
      const out = [];
      for (const [path, methods] of Object.entries(doc.paths)) {
        for (const [method, op] of Object.entries(methods)) {
          out.push({
            method: method.toUpperCase(),
            path,
            op,
            admin: (op.security ?? []).some((s) => 'adminKey' in s),
          });
        }
      }
      return out;
    }

    /** The path with each parameter filled in (the district's real id, `x` elsewhere, or `value` for `name`). */
    function fill(path: string, name?: string, value?: string): string {
      return path.replace(/\{(\w+)\}/g, (_, p: string) =>
        encodeURIComponent(p === name ? value! : p === 'district' ? district : 'x'),
      );
    }

    function expectSafe(r: { status: number; body: unknown; text: string }, what: string) {
      expect(r.status, `${what}: ${r.text.slice(0, 300)}`).toBeLessThan(500);
      if (r.status >= 400)
        expect(r.body, what).toMatchObject({ code: expect.any(String), message: expect.any(String) });
    }

    it('documents the API: every area, and admin routes as such', () => {
      const ops = operations();
      const paths = ops.map((o) => `${o.method} ${o.path}`);
      for (const p of [
        'GET /api/v1/districts',
        'GET /api/v1/districts/{district}',
        'PATCH /api/v1/districts/{district}/settings',
        'POST /api/v1/districts/{district}/runs',
        'GET /api/v1/runs',
        'GET /api/v1/runs/{run}',
        'GET /api/v1/runs/{run}/problems.csv',
        'POST /api/v1/runs/{run}/approve',
        'POST /api/v1/runs/{run}/reject',
        'GET /api/v1/districts/{district}/students',
        'GET /api/v1/districts/{district}/students/{id}',
        'GET /api/v1/districts/{district}/schools',
        'GET /api/v1/districts/{district}/staff',
        'GET /api/v1/districts/{district}/contacts',
        'GET /api/v1/districts/{district}/sections',
        'GET /api/v1/accounts',
        'GET /api/v1/accounts/{account}',
        'GET /api/v1/changes',
      ])
        expect(paths).toContain(p);
      expect(
        ops
          .filter((o) => o.admin)
          .map((o) => `${o.method} ${o.path}`)
          .sort(),
      ).toEqual([
        'PATCH /api/v1/districts/{district}/settings',
        'POST /api/v1/districts/{district}/runs',
        'POST /api/v1/runs/{run}/approve',
        'POST /api/v1/runs/{run}/reject',
      ]);
    });

    it('refuses every route without a key (401), with a revoked or made-up key (401), and admin routes with a read key (403)', async () => {
      const made = `rsk_${'0'.repeat(16)}.${'A'.repeat(43)}`;
      const revoked = await createApiKey(store, { name: 'revoked', scope: 'admin' });
      await revokeApiKey(store, revoked.key.id);
      for (const { method, path, admin } of operations()) {
        const url = fill(path);
        const none = await api.call(method, url, { key: null, ...(method === 'PATCH' ? { body: {} } : {}) });
        expect(none.status, `${method} ${path}`).toBe(401);
        expect(none.body).toMatchObject({ code: 'unauthorized' });
        expect((await api.call(method, url, { key: made })).status, `${method} ${path}`).toBe(401);
        expect((await api.call(method, url, { key: revoked.token })).status, `${method} ${path}`).toBe(401);
        expect((await api.call(method, url, { key: 'Basic abc' })).status).toBe(401);
        if (admin) {
          const read = await api.call(method, url, {
            key: api.readKey,
            ...(method === 'PATCH' ? { body: {} } : {}),
          });
          expect(read.status, `${method} ${path}`).toBe(403);
          expect(read.body).toMatchObject({ code: 'forbidden' });
        }
      }
      // Unknown routes under the prefix need a key too, then answer 404 in the same shape.
      expect((await api.call('GET', '/api/v1/nothing-here', { key: null })).status).toBe(401);
      expect((await api.call('GET', '/api/v1/nothing-here')).body).toMatchObject({ code: 'not_found' });
      // Public: health, the document, the docs page.
      for (const p of [
        '/healthz',
        '/readyz',
        '/api/v1/openapi.json',
        '/api/docs',
        '/api/docs/static/swagger-ui.css',
      ])
        expect((await api.call('GET', p, { key: null })).status, p).toBe(200);
    });

    it(
      'never answers 500 to hostile input: over-long strings, wrong types, unknown fields, paging limits',
      { timeout: 300_000 },
      async () => {
        let calls = 0;
        for (const { method, path, op } of operations()) {
          const key = api.adminKey;
          const params = op.parameters ?? [];
          const body = op.requestBody ? {} : undefined;
          const call = async (url: string, extra: { body?: unknown; rawBody?: string } = {}) => {
            calls++;
            const r = await api.call(method, url, { key, ...(body !== undefined ? { body } : {}), ...extra });
            expectSafe(r, `${method} ${url.slice(0, 200)}`);
            return r;
          };
          for (const p of params.filter((x) => x.in === 'path')) {
            for (const v of HOSTILE) await call(fill(path, p.name, v));
          }
          const base = fill(path);
          for (const p of params.filter((x) => x.in === 'query')) {
            for (const v of HOSTILE) await call(`${base}?${p.name}=${encodeURIComponent(v)}`);
            // Twice: an array where one value is expected.
            await call(`${base}?${p.name}=1&${p.name}=2`);
            await call(`${base}?${p.name}=`);
          }
          expect((await call(`${base}?unknownField=1`)).status, `${method} ${path}`).toBe(400);
          if (params.some((p) => p.name === 'limit')) {
            for (const v of ['0', '100000', '-5', '2.5']) {
              const r = await call(`${base}?limit=${v}`);
              expect(r.status, `limit=${v} on ${path}`).toBe(400);
              expect(r.body).toMatchObject({
                details: { issues: [expect.objectContaining({ field: 'query.limit' })] },
              });
            }
          }
          if (op.requestBody) {
            for (const b of [
              [],
              'text',
              42,
              null,
              { settings: 'yes' },
              { settings: { safetyValve: 'high' } },
              { settings: { [LONG]: 1 } },
              { settings: { schoolFilter: { mode: 'include', ids: [LONG] } } },
              { schedule: { cron: LONG } },
              { schedule: { timezone: 7 } },
              { schedule: { cron: '\u0000' } },
              { settings: { csv: { defaultStaffRole: 'a\u0000b' } } },
              { unknown: true },
              { settings: JSON.parse('{"__proto__": {"polluted": true}}') as unknown },
              {
                settings: {
                  csv: {
                    customRoles: Object.fromEntries(Array.from({ length: 2000 }, (_, i) => [`r${i}`, 'x'])),
                  },
                },
              },
            ]) {
              await call(base, { body: b });
            }
            await call(base, { rawBody: '{"settings": ' });
            await call(base, { rawBody: '['.repeat(5000) });
            expect(({} as Record<string, unknown>).polluted).toBeUndefined();
          }
        }
        expect(calls).toBeGreaterThan(300);
      },
    );

    it('limits each key’s rate, and logs requests without what was asked for', async () => {
      const limited = await startApi(store, { rateLimitPerMinute: 3, logger: log.logger });
      try {
        for (let i = 0; i < 3; i++) expect((await limited.call('GET', '/api/v1/districts')).status).toBe(200);
        const over = await limited.call('GET', '/api/v1/districts');
        expect(over.status).toBe(429);
        expect(over.body).toMatchObject({ code: 'rate_limited' });
        // Another key has its own budget.
        expect((await limited.call('GET', '/api/v1/districts', { key: limited.adminKey })).status).toBe(200);
      } finally {
        await limited.close();
      }
      const student = (await store.records.list({ district }, 'students', { limit: 1 }))[0]!;
      const name = student.data.name.last!;
      const account = (await store.accounts.list({ district, kind: 'student', limit: 1 }))[0]!;
      const before = log.text().length;
      await api.call('GET', `/api/v1/districts/${district}/students?q=${encodeURIComponent(name)}`);
      await api.call('GET', `/api/v1/accounts?identifier=${encodeURIComponent(account.email ?? 'x')}`);
      await api.call('GET', `/api/v1/districts/${district}/students/${student.sourceId}`);
      const logged = log.text().slice(before);
      expect(logged).toMatch(/"route":"\/api\/v1\/districts\/:district\/students\/:id"/);
      expect(logged).toMatch(/"key":"[0-9a-f]{16}"/);
      for (const secret of [
        name,
        student.sourceId,
        account.email ?? name,
        api.readKey,
        api.readKey.split('.')[1]!,
      ])
        expect(logged).not.toContain(secret);
    });
  },
);
