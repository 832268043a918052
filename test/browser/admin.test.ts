/// <reference lib="dom" />
import { mkdirSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyInstance } from 'fastify';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdmin } from '../../src/accounts/admin-auth.js';
import { ServiceMetrics } from '../../src/jobs/service-metrics.js';
import { startEmbeddedService } from '../../src/jobs/service.js';
import type { RunningService } from '../../src/jobs/service.js';
import { buildApp } from '../../src/server/app.js';
import { silentLogger } from '../../src/shared/logger.js';
import { startCleverSimulator } from '../../src/simulator/index.js';
import type { CleverSimulator } from '../../src/simulator/index.js';
import { SecretBox } from '../../src/store/secrets.js';
import { Store } from '../../src/store/store.js';
import type { SyncRun } from '../../src/model/run.js';
import { browserAvailable, expectAccessible, launchChromium } from './browser.js';
import { simConfig, syncSim } from '../helpers/sync.js';
import { freePort } from '../helpers/clever-sign-in.js';
import { utc } from '../../src/server/admin/format.js';
import type { StoredAccount } from '../../src/model/stored-account.js';
import { syncFromClever } from '../../src/sync/clever-sync.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const SHOTS = '.tmp/screenshots';
const PASSWORD = 'a password long enough';

/**
 * The admin web app in Chromium, against `serve`'s parts (the app, Clever sign-in and the embedded
 * service) over a SQLite store synced from the simulator: sign in, the dashboard, a school filter
 * change and the run it asks for, a held run rejected and a bad-sharing day's held run approved, an
 * account found by an identifier, API keys; then students and a teacher signing in with Clever
 * through the simulator's login page. Every page is checked with axe in light and dark, and
 * screenshots are saved.
 */
describe.skipIf(!browserAvailable())('the admin web app in a browser', () => {
  let dir: string;
  let sim: CleverSimulator;
  let store: Store;
  let app: FastifyInstance;
  let service: RunningService;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let base: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'rostersync-admin-'));
    mkdirSync(SHOTS, { recursive: true });
    // The demo's district size (`rostersync demo`).
    sim = await startCleverSimulator({ seed: 1, students: 5000 });
    store = await Store.open({ location: join(dir, 'admin.db') });
    await store.districts.ensure('demo', 'demo');
    expect((await syncSim(store, sim, { district: 'demo' })).status).toBe('succeeded');
    const key = SecretBox.generateKey();
    const config = simConfig(sim, { 'clever.token': sim.token });
    const metrics = new ServiceMetrics();
    const secretBox = () => SecretBox.fromString(key);
    service = await startEmbeddedService({
      store,
      config,
      logger: silentLogger(),
      secretBox,
      metrics,
      pollMs: 200,
    });
    // Clever sign-in is configured before the server listens: its callback URL names the port.
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    app = await buildApp({
      store,
      metrics,
      signIn: {
        config: {
          clientId: sim.clientId,
          clientSecret: sim.clientSecret,
          oauthUrl: sim.url,
          apiUrl: sim.url,
          apiVersion: 'v3.0',
          redirectUri: `${base}/auth/clever/callback`,
          appUrl: null,
          signingKey: null,
        },
        logger: silentLogger(),
        secretBox,
      },
      admin: {
        timezone: 'UTC',
        secureCookies: false,
        secretBox,
        // As `serve` composes it: a plan of the district with the editor's filter.
        planSchoolFilter: (district, schoolFilter) =>
          syncFromClever({ store, config, logger: silentLogger(), district, mode: 'plan', schoolFilter }),
      },
    });
    await app.listen({ port, host: '127.0.0.1' });
    browser = await launchChromium();
    // axe is injected as a script: the app's CSP (script-src 'self') would refuse it.
    context = await browser.newContext({ bypassCSP: true, viewport: { width: 1280, height: 900 } });
    page = await context.newPage();
  });

  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await app?.close();
    await service?.stop();
    await store?.close();
    await sim?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** axe in light and dark; with `shot`, screenshots of both (the top 1400 px of a long page). */
  async function bothThemes(name: string, shot: boolean, on: Page = page): Promise<void> {
    const page = on;
    for (const scheme of ['light', 'dark'] as const) {
      await page.emulateMedia({ colorScheme: scheme });
      await expectAccessible(page, `${name} (${scheme})`);
      if (!shot) continue;
      const height = await page.evaluate(() => document.documentElement.scrollHeight);
      const size = page.viewportSize()!;
      await page.screenshot({
        path: `${SHOTS}/${name}-${scheme}.png`,
        fullPage: true,
        clip: { x: 0, y: 0, width: size.width, height: Math.min(height, 1400) },
      });
    }
    await page.emulateMedia({ colorScheme: 'light' });
  }

  /** Waits until the district has a finished run newer than `after`. */
  async function nextRun(after: string): Promise<SyncRun> {
    for (let i = 0; i < 600; i++) {
      const r = (await store.runs.list({ district: 'demo', limit: 1 }))[0];
      if (r && r.startedAt > after && r.status !== 'running') return r;
      await sleep(200);
    }
    throw new Error('no run finished');
  }

  it('signs in through the one-time setup link, signs out, and signs in with the password', async () => {
    const { setupToken } = await createAdmin(store, { email: 'support@example.org', district: null });
    await page.goto(`${base}/admin/setup?token=${setupToken}`);
    await bothThemes('setup', false);
    await page.getByLabel('New password').fill(PASSWORD);
    await page.getByLabel('The same password again').fill(PASSWORD);
    await page.getByRole('button', { name: 'Save and sign in' }).click();
    await expect.poll(() => page.url()).toBe(`${base}/admin`);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await expect.poll(() => page.url()).toBe(`${base}/admin/login`);
    await bothThemes('login', false);
    // The link worked once.
    await page.goto(`${base}/admin/setup?token=${setupToken}`);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('This link does not work');
    await page.goto(`${base}/admin/districts/demo`);
    await page.getByLabel('Email').fill('support@example.org');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    // Back where they were going.
    await expect.poll(() => page.url()).toBe(`${base}/admin/districts/demo`);
  });

  it('shows the district on the dashboard after the sync, with its status in words', async () => {
    await page.goto(`${base}/admin`);
    const row = page.getByRole('row', { name: /demo/ });
    await expect.poll(() => row.getByText('Succeeded', { exact: true }).count()).toBe(1);
    const counts = await store.accounts.countsByKind('demo');
    const active = counts.student.active + counts.staff.active + counts.guardian.active;
    expect(await row.textContent()).toContain(active.toLocaleString('en-US'));
    expect(await page.locator('svg.chart').count()).toBe(1);
    await bothThemes('dashboard', true);
  });

  it('changes the school filter and runs: the run holds what the change would deactivate, and is rejected', async () => {
    await page.goto(`${base}/admin/districts/demo`);
    await bothThemes('district', true);
    const boxes = page.getByRole('checkbox');
    expect(await boxes.count()).toBeGreaterThan(1);
    const first = page
      .locator('tbody tr')
      .filter({ has: page.getByRole('checkbox') })
      .first();
    const school = (await first.getByRole('checkbox').getAttribute('value'))!;
    const moving = Number((await first.locator('td.num').first().textContent())!.replace(/,/g, ''));
    expect(moving).toBeGreaterThan(0);
    const before = (await store.runs.list({ district: 'demo', limit: 1 }))[0]!.startedAt;
    await first.getByRole('checkbox').uncheck();
    // First a plan of the change: what it moves, with nothing saved.
    await page.getByRole('button', { name: 'Preview with a plan' }).click();
    const plan = page.getByRole('status').filter({ hasText: 'What this filter would do' });
    await expect.poll(() => plan.count()).toBe(1);
    expect(await plan.textContent()).toContain(
      `Students: ${moving.toLocaleString('en-US')} leave, 0 come in`,
    );
    expect(await page.locator(`input[value="${school}"]`).isChecked()).toBe(false);
    expect((await store.districts.get('demo'))?.config.schoolFilter).toBeNull();
    expect((await store.runs.list({ district: 'demo', limit: 1 }))[0]!.startedAt).toBe(before);
    await bothThemes('district-plan', false);
    await page.getByRole('button', { name: 'Save filter and run now' }).click();
    await expect.poll(() => page.getByRole('status').textContent()).toContain('1 school(s) out');
    expect((await store.districts.get('demo'))?.config.schoolFilter?.ids).not.toContain(school);
    const run = await nextRun(before);
    expect(run.status).toBe('held');
    await page.goto(`${base}/admin/runs/${run.id}`);
    const total = Number((await page.locator('.held strong').first().textContent())!.replace(/,/g, ''));
    // At least the school's students; its staff who teach nowhere else go too.
    expect(total).toBeGreaterThanOrEqual(moving);
    await page.getByRole('button', { name: /^Reject: change nothing/ }).click();
    await expect.poll(() => page.getByRole('status').textContent()).toContain('nothing was changed');
    expect((await store.runs.get(run.id))?.status).toBe('rejected');
    expect((await store.accounts.countsByKind('demo')).student.inactive).toBe(0);
    // Every school back in: the next run changes nothing and succeeds.
    await page.goto(`${base}/admin/districts/demo`);
    await page.locator(`input[value="${school}"]`).check();
    const again = (await store.runs.list({ district: 'demo', limit: 1 }))[0]!.startedAt;
    await page.getByRole('button', { name: 'Save filter and run now' }).click();
    expect((await nextRun(again)).status).toBe('succeeded');
    expect((await store.districts.get('demo'))?.config.schoolFilter).toBeNull();
  });

  it("approves a bad-sharing day's held run after listing exactly what it deactivates", async () => {
    sim.advance(1, 'bad_sharing');
    await page.goto(`${base}/admin/districts/demo`);
    const before = (await store.runs.list({ district: 'demo', limit: 1 }))[0]!.startedAt;
    await page.getByRole('button', { name: 'Run now', exact: true }).click();
    await expect.poll(() => page.getByRole('status').textContent()).toContain('Run requested');
    const run = await nextRun(before);
    expect(run.status).toBe('held');
    await page.goto(`${base}/admin/runs/${run.id}`);
    await bothThemes('held-run', true);
    const total = Number((await page.locator('.held strong').first().textContent())!.replace(/,/g, ''));
    expect(total).toBeGreaterThan(0);
    // The list pages through exactly those accounts; the CSV holds them all, as many as the banner says.
    expect(await page.locator('.held tbody tr').count()).toBe(Math.min(total, 100));
    const csv = await page.request.get(`${base}/admin/runs/${run.id}/pending.csv`);
    expect(csv.status()).toBe(200);
    const rows = (await csv.text()).trim().split('\r\n');
    expect(rows[0]).toBe('account_id,kind,source_id,name');
    expect(new Set(rows.slice(1).map((r) => r.split(',')[0])).size).toBe(total);
    const approve = page.getByRole('button', {
      name: `Approve: deactivate ${total.toLocaleString('en-US')} accounts`,
    });
    // The confirmation box must be ticked first (the browser refuses the form without it).
    await approve.click();
    expect((await store.runs.get(run.id))?.status).toBe('held');
    await page.getByLabel(/^Yes, deactivate/).check();
    await approve.click();
    await expect
      .poll(() => page.getByRole('status').textContent())
      .toContain('Approved by support@example.org');
    const done = (await store.runs.get(run.id))!;
    expect(done.status).toBe('succeeded');
    expect(done.resolution).toBe('approved');
    const after = await store.accounts.countsByKind('demo');
    expect(after.student.inactive + after.staff.inactive + after.guardian.inactive).toBe(total);
    await bothThemes('resolved-run', false);
  });

  it('finds an account by an identifier and shows its page', async () => {
    const student = (
      await store.accounts.list({ district: 'demo', kind: 'student', status: 'inactive', limit: 1 })
    )[0]!;
    const sis = student.identities.find((i) => i.type === 'sis_id')!.value;
    await page.goto(`${base}/admin/accounts`);
    await page.getByLabel('Name, email or any identifier').fill(sis);
    await page.getByRole('button', { name: 'Search' }).click();
    await expect.poll(() => page.url()).toContain(`q=${encodeURIComponent(sis)}`);
    const links = page.locator('#results tbody a');
    expect(await links.count()).toBe(1);
    await bothThemes('accounts', false);
    await links.first().click();
    await expect.poll(() => page.url()).toBe(`${base}/admin/accounts/${student.id}`);
    expect(await page.getByText(sis, { exact: true }).count()).toBe(1);
    expect(await page.getByText('Deactivated', { exact: true }).first().isVisible()).toBe(true);
    // Its history from the change feed: created by the first run, deactivated by the approved one.
    const history = await page.locator('.timeline li').allTextContents();
    expect(history.some((h) => h.includes('created'))).toBe(true);
    expect(history.some((h) => h.includes('deactivated'))).toBe(true);
    await bothThemes('account', true);
  });

  it('manages webhooks, and every page fits a phone screen', async () => {
    await page.goto(`${base}/admin/webhooks`);
    await page.getByLabel('Address (https://…)').fill('https://example.org/hook');
    await page.getByRole('button', { name: 'Add webhook' }).click();
    await expect.poll(() => page.getByText('Signing secret, shown once').count()).toBe(1);
    await bothThemes('webhooks', false);
    expect((await store.webhooks.list()).map((w) => w.url)).toEqual(['https://example.org/hook']);
    await page.setViewportSize({ width: 390, height: 844 });
    for (const url of ['/admin', '/admin/districts/demo']) {
      await page.goto(`${base}${url}`);
      // Nothing wider than the screen but the scrollable tables.
      const overflow = await page.evaluate(() => document.body.scrollWidth - window.innerWidth);
      expect(overflow, url).toBeLessThanOrEqual(0);
    }
    await page.goto(`${base}/admin`);
    // The dashboard's table stacks into one card per district, each line naming its column, and
    // the charts say their axes in text: nothing scrolls sideways, no label shrinks with a chart.
    const table = await page.evaluate(() => {
      const wrap = document.querySelector('#districts .table-wrap')!;
      const cell = document.querySelector('#districts td[data-label="Status"]')!;
      return {
        scrolls: wrap.scrollWidth > wrap.clientWidth,
        label: getComputedStyle(cell, '::before').content,
      };
    });
    expect(table).toEqual({ scrolls: false, label: '"Status"' });
    expect(await page.locator('.chart-axes').first().isVisible()).toBe(true);
    expect(await page.locator('svg.chart .tick').first().isVisible()).toBe(false);
    await expectAccessible(page, 'dashboard (phone)');
    await page.screenshot({ path: `${SHOTS}/dashboard-phone-light.png`, fullPage: true });
    // The dashboard and district screenshots again, now with a few runs behind them.
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.goto(`${base}/admin`);
    expect(await page.locator('.chart-axes').first().isVisible()).toBe(false);
    await bothThemes('dashboard', true);
    await page.goto(`${base}/admin/districts/demo`);
    await bothThemes('district', true);
    // The run history, below the fold of that screenshot: its status filter and its runs.
    const top = await page
      .locator('#history')
      .evaluate((h) => h.getBoundingClientRect().top + window.scrollY);
    await page.screenshot({
      path: `${SHOTS}/district-history-light.png`,
      fullPage: true,
      clip: { x: 0, y: top - 16, width: 1280, height: 420 },
    });
    await page
      .getByRole('navigation', { name: 'Run history by status' })
      .getByRole('link', { name: 'Succeeded' })
      .click();
    await expect.poll(() => page.url()).toContain('status=succeeded');
    expect(await page.locator('#history ~ .table-wrap tbody tr').count()).toBeGreaterThan(0);
  });

  it('manages API keys: creates one shown once, which the API takes, and revokes it', async () => {
    await page.goto(`${base}/admin`);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'API keys' }).click();
    await expect.poll(() => page.url()).toBe(`${base}/admin/api-keys`);
    await page.getByLabel('Name (what the key is for)').fill('Reporting app');
    await page.getByLabel('Scope').selectOption('read');
    await page.getByRole('button', { name: 'Create key' }).click();
    const shown = page.locator('code[data-key]');
    await expect.poll(() => shown.count()).toBe(1);
    const token = (await shown.textContent())!;
    await bothThemes('api-keys', true);
    const api = (t: string) =>
      page.request.get(`${base}/api/v1/districts`, { headers: { authorization: `Bearer ${t}` } });
    expect((await api(token)).status()).toBe(200);
    const row = page.getByRole('row', { name: /Reporting app/ });
    expect(await row.textContent()).toContain('read');
    expect(await row.getByText('Active', { exact: true }).count()).toBe(1);
    // Shown once: the page opened again lists the key by its id only.
    await page.goto(`${base}/admin/api-keys`);
    expect(await page.locator('code[data-key]').count()).toBe(0);
    expect(await page.content()).not.toContain(token);
    await row.getByRole('button', { name: /^Revoke the key Reporting app/ }).click();
    await expect.poll(() => page.getByRole('status').textContent()).toContain('revoked');
    expect(await row.textContent()).toContain('Revoked');
    expect(await row.getByRole('button').count()).toBe(0);
    const [key] = await store.apiKeys.list();
    expect(key).toMatchObject({ name: 'Reporting app', scope: 'read' });
    expect(key!.lastUsedAt).not.toBeNull();
    expect(key!.revokedAt).not.toBeNull();
    await bothThemes('api-keys-revoked', false);
  });

  it('works without JavaScript: sign in and find an account', async () => {
    const plain = await browser.newContext({ javaScriptEnabled: false });
    try {
      const p = await plain.newPage();
      await p.goto(`${base}/admin/accounts`);
      await p.getByLabel('Email').fill('support@example.org');
      await p.getByLabel('Password').fill(PASSWORD);
      await p.getByRole('button', { name: 'Sign in' }).click();
      await expect.poll(() => p.url()).toBe(`${base}/admin/accounts`);
      const student = (await store.accounts.list({ district: 'demo', kind: 'student', limit: 1 }))[0]!;
      await p.getByLabel('Name, email or any identifier').fill(student.id);
      await p.getByRole('button', { name: 'Search' }).click();
      await expect.poll(() => p.url()).toBe(`${base}/admin/accounts?q=${student.id}`);
      expect(await p.locator(`#results a[href="/admin/accounts/${student.id}"]`).count()).toBe(1);
    } finally {
      await plain.close();
    }
  });

  /**
   * A student's or teacher's browser signing in: our login route, the simulator's Clever login page,
   * the person picked there (by Clever user id and role), and back to our callback.
   */
  async function cleverSignIn(p: Page, account: StoredAccount, role: string): Promise<number> {
    await p.goto(`${base}/auth/clever/login`);
    expect(p.url().startsWith(`${sim.url}/oauth/authorize?`)).toBe(true);
    expect(await p.getByRole('heading', { level: 1 }).textContent()).toContain('Instant Login');
    const pick = new URL(p.url());
    pick.searchParams.set('login_as', cleverIdOf(account));
    pick.searchParams.set('login_role', role);
    const res = await p.goto(pick.toString());
    expect(p.url().startsWith(`${base}/auth/clever/callback?`)).toBe(true);
    return res!.status();
  }
  const cleverIdOf = (a: StoredAccount): string => a.identities.find((i) => i.type === 'clever_id')!.value;
  async function activeAccounts(kind: 'student' | 'staff'): Promise<StoredAccount[]> {
    const list = await store.accounts.list({ district: 'demo', kind, status: 'active', limit: 50 });
    return list.filter((a) => a.identities.some((i) => i.type === 'clever_id'));
  }
  const lastSignIn = () => page.locator('dt:text-is("Last sign-in") + dd');

  it('signs a student and a teacher in with Clever, and the account page shows the sign-in', async () => {
    const people = await browser.newContext({ bypassCSP: true, viewport: { width: 1280, height: 900 } });
    try {
      const p = await people.newPage();
      const student = (await activeAccounts('student'))[0]!;
      // Where trying again can help (a callback without its code), the page offers it. Without
      // bypassing the page's Content-Security-Policy, its style still applies (allowed by its hash).
      const strict = await browser.newContext();
      try {
        const q = await strict.newPage();
        await q.emulateMedia({ colorScheme: 'light' });
        expect((await q.goto(`${base}/auth/clever/callback`))!.status()).toBe(400);
        expect(await q.locator('code[data-reason]').textContent()).toBe('missing_code');
        const again = q.getByRole('link', { name: 'Sign in with Clever again' });
        expect(await again.getAttribute('href')).toBe('/auth/clever/login');
        const card = await q.locator('.card').evaluate((e) => getComputedStyle(e).backgroundColor);
        expect(card).toBe('rgb(255, 255, 255)');
      } finally {
        await strict.close();
      }
      await page.goto(`${base}/admin/accounts/${student.id}`);
      expect(await lastSignIn().textContent()).toBe('never');
      expect(await cleverSignIn(p, student, 'student')).toBe(200);
      expect(await p.getByRole('heading', { level: 1 }).textContent()).toBe('Signed in');
      expect(await p.locator('dd[data-field="account"]').textContent()).toBe(student.id);
      expect(await p.locator('dd[data-field="kind"]').textContent()).toBe('student');
      expect(await p.locator('dd[data-field="name"]').textContent()).toBe(
        `${student.name.first} ${student.name.last}`,
      );
      await bothThemes('sign-in-student', true, p);
      // The admin app's account page has it from the sign-in record.
      await page.goto(`${base}/admin/accounts/${student.id}`);
      const recorded = (await store.signIns.get(student.id))!;
      expect(recorded.signIns).toBe(1);
      expect(await lastSignIn().textContent()).toBe(`${utc(recorded.lastSignInAt)} (1 in all)`);
      await bothThemes('account-after-sign-in', false);

      const teacher = (await activeAccounts('staff')).find((a) => a.roles.includes('teacher'))!;
      expect(await cleverSignIn(p, teacher, 'teacher')).toBe(200);
      expect(await p.locator('dd[data-field="account"]').textContent()).toBe(teacher.id);
      expect(await p.locator('dd[data-field="kind"]').textContent()).toBe('staff');
      expect(await p.locator('dd[data-field="roles"]').textContent()).toContain('teacher');
      await page.goto(`${base}/admin/accounts/${teacher.id}`);
      const teacherSignIn = (await store.signIns.get(teacher.id))!.lastSignInAt;
      expect(await lastSignIn().textContent()).toBe(`${utc(teacherSignIn)} (1 in all)`);
    } finally {
      await people.close();
    }
  });

  it('refuses a deactivated student with a page that says what happened and to ask the school', async () => {
    const people = await browser.newContext({ bypassCSP: true, viewport: { width: 1280, height: 900 } });
    try {
      const p = await people.newPage();
      const student = (await activeAccounts('student'))[1]!;
      await store.accounts.setStatus([student.id], 'inactive');
      expect(await cleverSignIn(p, student, 'student')).toBe(403);
      expect(await p.getByRole('heading', { level: 1 }).textContent()).toBe('You could not be signed in');
      expect(await p.getByRole('alert').textContent()).toContain('Your account in this app is turned off');
      expect(await p.locator('main').textContent()).toContain("Ask your teacher or your school's office");
      expect(await p.locator('code[data-reason]').textContent()).toBe('account_deactivated');
      // Trying again cannot help: no button offers it.
      expect(await p.getByRole('link', { name: 'Sign in with Clever again' }).count()).toBe(0);
      // Nothing about the person or the login on the page: no name, no ids, no code or state.
      const html = await p.content();
      const callback = new URL(p.url());
      for (const secret of [
        student.name.first,
        student.name.last,
        student.id,
        cleverIdOf(student),
        callback.searchParams.get('code')!,
        callback.searchParams.get('state')!,
      ])
        expect(html).not.toContain(secret);
      await bothThemes('sign-in-refused', true, p);
      await page.goto(`${base}/admin/accounts/${student.id}`);
      expect(await lastSignIn().textContent()).toBe('never');
      expect(await page.locator('dt:text-is("Last refused login") + dd').textContent()).toContain(
        'account_deactivated',
      );
    } finally {
      await people.close();
    }
  });
});
