import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { ServiceMetrics } from '../../src/jobs/service-metrics.js';
import { buildApp } from '../../src/server/app.js';
import { SecretBox } from '../../src/store/secrets.js';
import { Store } from '../../src/store/store.js';
import { emptyRunCounts, emptyStats } from '../../src/sync/run-report.js';
import { createAdmin } from '../../src/accounts/admin-auth.js';
import { csrfOf, keepCookies, signedInAdmin } from '../helpers/admin-session.js';
import type { InjectSession } from '../helpers/admin-session.js';

/** The pages' read side on seeded runs: status words and order, problem search and CSV. */
describe('admin pages', () => {
  let store: Store;
  let app: FastifyInstance;
  let s: InjectSession;

  async function run(
    district: string,
    status: 'succeeded' | 'failed' | 'held',
    reason: string | null = null,
  ) {
    const id = `${district}-${status}`;
    await store.runs.create({
      id,
      district,
      source: 'clever',
      mode: 'sync',
      counts: emptyRunCounts(),
      stats: emptyStats(),
    });
    await store.runs.finish(id, status, { counts: emptyRunCounts(), stats: emptyStats(), reason });
    return id;
  }

  beforeAll(async () => {
    store = await Store.open({ location: ':memory:' });
    for (const [id, name] of [
      ['a', 'Alder USD'],
      ['b', 'Birch USD'],
      ['c', 'Cedar USD'],
      ['d', 'Dogwood USD'],
    ])
      await store.districts.ensure(id!, name!);
    await run('a', 'succeeded');
    await run('b', 'failed', 'upstream: clever /v3.0/users: 503 after 8 retries');
    const held = await run('c', 'held', 'held by the safety valve');
    await store.runs.addProblems(held, [
      {
        severity: 'error',
        entity: 'students',
        recordId: 'stu-1',
        field: 'school',
        reason: 'unknown school sch-9',
      },
      {
        severity: 'warning',
        entity: 'staff',
        recordId: 'stf-2',
        field: 'email',
        reason: 'email "=cmd" shared by two',
      },
      {
        severity: 'error',
        entity: 'students',
        recordId: 'stu-3',
        field: 'grade',
        reason: 'invalid grade "14"',
      },
      {
        severity: 'warning',
        entity: 'contacts',
        recordId: '=HYPERLINK("x")',
        field: null,
        reason: '+1 phone',
      },
    ]);
    app = await buildApp({
      store,
      metrics: new ServiceMetrics(),
      admin: {
        timezone: 'UTC',
        secureCookies: false,
        secretBox: () => SecretBox.fromString(SecretBox.generateKey()),
      },
    });
    s = await signedInAdmin(app, store, 'pages@example.org', null);
  });
  afterAll(async () => {
    await app?.close();
    await store?.close();
  });

  it('the setup link says what is wrong with a password and keeps the link usable', async () => {
    const { setupToken } = await createAdmin(store, { email: 'setup@example.org', district: null });
    const form = await app.inject({ url: `/admin/setup?token=${setupToken}` });
    const cookies: Record<string, string> = {};
    keepCookies({ cookies }, form);
    const post = (password: string, confirm: string) =>
      app.inject({
        method: 'POST',
        url: '/admin/setup',
        cookies,
        payload: { _csrf: csrfOf(form.body), token: setupToken, password, confirm },
      });
    const differ = await post('a long enough password', 'another long password');
    expect(differ.statusCode).toBe(400);
    expect(differ.body).toContain('The two passwords are not the same.');
    expect(differ.body).toContain('setup@example.org');
    const short = await post('short', 'short');
    expect(short.statusCode).toBe(400);
    expect(short.body).toMatch(/at least \d+ characters/);
    expect((await post('a long enough password', 'a long enough password')).statusCode).toBe(303);
  });

  it('lists the districts needing someone first, each with its status in words and who acts', async () => {
    const body = (await app.inject({ url: '/admin', cookies: s.cookies })).body;
    const order = ['Cedar USD', 'Birch USD', 'Dogwood USD', 'Alder USD'].map((n) => body.indexOf(n));
    expect(order.every((i) => i > 0)).toBe(true);
    expect([...order].sort((x, y) => x - y)).toEqual(order);
    for (const words of ['Held – needs review', 'Failed', 'Never run', 'Succeeded'])
      expect(body).toContain(words);
    const held = (await app.inject({ url: '/admin?state=held', cookies: s.cookies })).body;
    expect(held).toContain('Cedar USD');
    expect(held).not.toContain('Birch USD');
  });

  it("pages a district's run history 25 at a time, newest first, and filters it by status", async () => {
    await store.districts.ensure('h', 'Hemlock USD');
    // 30 runs: every tenth failed, and a plan, which the history leaves out.
    for (let i = 0; i < 30; i++) {
      const id = `h-${String(i).padStart(2, '0')}`;
      await store.runs.create({
        id,
        district: 'h',
        source: 'clever',
        mode: 'sync',
        counts: emptyRunCounts(),
        stats: emptyStats(),
      });
      await store.runs.finish(id, i % 10 === 0 ? 'failed' : 'succeeded', {
        counts: emptyRunCounts(),
        stats: emptyStats(),
        reason: null,
      });
    }
    await store.runs.create({
      id: 'h-plan',
      district: 'h',
      source: 'clever',
      mode: 'plan',
      counts: emptyRunCounts(),
      stats: emptyStats(),
    });
    const history = async (query: string) => {
      const r = await app.inject({ url: `/admin/districts/h${query}`, cookies: s.cookies });
      expect(r.statusCode).toBe(200);
      const part = r.body.slice(r.body.indexOf('id="history"'));
      return {
        runs: [...part.matchAll(/href="\/admin\/runs\/(h-[\w-]+)"/g)].map((m) => m[1]),
        older: /older=([\w-]+)#history" rel="next"/.exec(part)?.[1] ?? null,
        newest: part.includes('>Newest runs</a>'),
      };
    };
    const first = await history('');
    expect(first.runs).toHaveLength(25);
    expect(first.runs[0]).toBe('h-29');
    expect(first.runs).not.toContain('h-plan');
    expect(first).toMatchObject({ older: 'h-05', newest: false });
    const second = await history(`?older=${first.older}`);
    expect(second).toEqual({ runs: ['h-04', 'h-03', 'h-02', 'h-01', 'h-00'], older: null, newest: true });
    expect(await history('?status=failed')).toEqual({
      runs: ['h-20', 'h-10', 'h-00'],
      older: null,
      newest: false,
    });
    // An id of another district's run starts at the newest page.
    expect((await history('?older=a-succeeded')).runs[0]).toBe('h-29');
  });

  it('searches the problems of a run and downloads them as CSV, spreadsheet formulas defused', async () => {
    const page = await app.inject({ url: '/admin/runs/c-held?q=grade', cookies: s.cookies });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('invalid grade');
    expect(page.body).not.toContain('unknown school');
    const warnings = await app.inject({ url: '/admin/runs/c-held?severity=warning', cookies: s.cookies });
    expect(warnings.body).toContain('Warning: applied');
    expect(warnings.body).not.toContain('Error: not applied');
    const csv = await app.inject({ url: '/admin/runs/c-held/problems.csv?q=students', cookies: s.cookies });
    expect(csv.headers['content-type']).toMatch(/^text\/csv/);
    expect(csv.body.trim().split('\r\n')).toEqual([
      'source_id,entity,field,severity,message',
      'stu-1,students,school,error,unknown school sch-9',
      'stu-3,students,grade,error,"invalid grade ""14"""',
    ]);
    const all = await app.inject({ url: '/admin/runs/c-held/problems.csv', cookies: s.cookies });
    expect(all.body).toContain(`stf-2,staff,email,warning,"email ""=cmd"" shared by two"`);
    // A cell starting with = + - @ would run as a formula in a spreadsheet: it is quoted as text.
    expect(all.body).toContain(`"'=HYPERLINK(""x"")",contacts,,warning,'+1 phone`);
    const clean = await app.inject({ url: '/admin/runs/a-succeeded', cookies: s.cookies });
    expect(clean.body).toContain('No problems in this run.');
    const failed = await app.inject({ url: '/admin/runs/b-failed', cookies: s.cookies });
    expect(failed.body).toContain('Quote reference <strong>b-failed</strong> to support');
  });
});
