import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import fastifyCookie from '@fastify/cookie';
import fastifyCsrf from '@fastify/csrf-protection';
import fastifyFormbody from '@fastify/formbody';
import fastifyHelmet from '@fastify/helmet';
import fastifyRateLimit from '@fastify/rate-limit';
import fastifyView from '@fastify/view';
import { Eta } from 'eta';
import { z } from 'zod';
import {
  completeSetup,
  MIN_PASSWORD_LENGTH,
  SESSION_TTL_MS,
  sessionAdmin,
  setupAdmin,
  signIn,
  signOut,
} from '../../accounts/admin-auth.js';
import { accountPage, searchAccounts } from '../../jobs/admin-views/accounts.js';
import { addApiKey, apiKeysPage, revokeKey } from '../../jobs/admin-views/api-keys.js';
import { dashboard, STATE_LABELS } from '../../jobs/admin-views/dashboard.js';
import {
  districtPage,
  previewSchoolFilter,
  requestRunNow,
  saveSchoolFilter,
} from '../../jobs/admin-views/district.js';
import type { PlanSchoolFilter } from '../../jobs/admin-views/district.js';
import {
  approveShownRun,
  pendingCsv,
  PENDING_PAGE_SIZE,
  rejectHeldRun,
  runPage,
  runProblemsCsv,
} from '../../jobs/admin-views/run.js';
import { addWebhook, removeWebhook, webhooksPage } from '../../jobs/admin-views/webhooks.js';
import { isRostersyncError, errorMessage } from '../../shared/errors.js';
import type { Admin } from '../../store/queries/admins.js';
import type { SecretBox } from '../../store/secrets.js';
import type { Store } from '../../store/store.js';
import { runChart } from './chart.js';
import * as f from './format.js';

export interface AdminOptions {
  store: Store;
  /** Zone of schedules that name none (`service.timezone`). */
  timezone: string;
  /** `Secure` session cookies: true when the server is reached over https (`server.publicUrl`). */
  secureCookies: boolean;
  /** Signs the CSRF cookie. Default: random per process (forms open across a restart must be reloaded). */
  cookieSecret?: string;
  /** The key of stored secrets (webhook signing secrets); asked for only when a webhook is added. */
  secretBox: () => SecretBox;
  /** Sign-in attempts per client address per minute. Default 10. */
  loginRateLimit?: number;
  /** Plans a district with another school filter, for the editor's preview. Absent: no preview button. */
  planSchoolFilter?: PlanSchoolFilter;
}

declare module 'fastify' {
  interface FastifyRequest {
    admin: Admin | null;
  }
}

export const SESSION_COOKIE = 'rostersync_admin';
const FLASH_COOKIE = 'rostersync_flash';
const here = fileURLToPath(new URL('.', import.meta.url));
const HTMX = readFileSync(createRequire(import.meta.url).resolve('htmx.org/dist/htmx.min.js'));
const PUBLIC_PATHS = new Set([
  '/admin/login',
  '/admin/setup',
  '/admin/assets/admin.css',
  '/admin/assets/htmx.min.js',
]);

const idParam = z.object({ id: z.string().min(1).max(200) });
const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const list = (v: unknown): string[] => (Array.isArray(v) ? v.map(str) : typeof v === 'string' ? [v] : []);

/** Only same-site paths under /admin are followed after sign-in (no open redirect). */
function safeNext(v: unknown): string {
  const s = str(v);
  return s.startsWith('/admin') && !s.startsWith('//') ? s : '/admin';
}

/**
 * The admin web app under `/admin`: server-rendered pages (Eta), forms that work without
 * JavaScript (htmx only makes search and refresh nicer), a session cookie per admin, CSRF tokens on
 * every form, a rate limit and a lockout on sign-in. Routes only compose: they validate input, call
 * one function of jobs/admin-views/, accounts/admin-auth or sync/run-control, and render.
 */
export const adminPlugin: FastifyPluginAsync<AdminOptions> = async (app, opts) => {
  const { store } = opts;
  await app.register(fastifyCookie, { secret: opts.cookieSecret ?? randomBytes(32).toString('hex') });
  await app.register(fastifyFormbody);
  await app.register(fastifyCsrf, {
    cookieKey: 'rostersync_csrf',
    cookieOpts: {
      path: '/admin',
      sameSite: 'strict',
      httpOnly: true,
      secure: opts.secureCookies,
      signed: true,
    },
  });
  await app.register(fastifyHelmet, {
    contentSecurityPolicy: {
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
      },
    },
  });
  await app.register(fastifyRateLimit, { global: false });
  await app.register(fastifyView, {
    engine: { eta: new Eta({ views: `${here}views`, cache: true }) },
    root: `${here}views`,
    defaultContext: { f, states: STATE_LABELS, runChart, pageSize: PENDING_PAGE_SIZE },
  });

  app.decorateRequest('admin', null);

  app.addHook('onRequest', async (req, reply) => {
    const path = req.url.split('?')[0]!;
    if (PUBLIC_PATHS.has(path) || !path.startsWith('/admin')) return;
    const token = req.cookies[SESSION_COOKIE];
    const admin = token ? await sessionAdmin(store, token) : undefined;
    if (admin) {
      req.admin = admin;
      return;
    }
    if (req.method === 'GET') return reply.redirect(`/admin/login?next=${encodeURIComponent(req.url)}`, 303);
    return reply
      .code(401)
      .type('text/html')
      .send(
        await page(reply, 'error', {
          title: 'Sign in first',
          message: 'Your session has ended. Sign in again and repeat what you were doing.',
          code: 401,
        }),
      );
  });

  // Every form posts a CSRF token; a POST without a valid one is refused before its handler runs.
  app.addHook('preHandler', (req, reply, done) => {
    if (req.method !== 'POST') return done();
    app.csrfProtection(req, reply, done);
  });

  app.setErrorHandler(async (err, req, reply) => {
    const code = (err as { code?: string }).code ?? '';
    let status = 500;
    let title = 'Something went wrong';
    let message =
      'The server could not finish this request. Try again; if it keeps happening, tell support the time it happened.';
    if (code.startsWith('FST_CSRF')) {
      status = 403;
      title = 'This form has expired';
      message =
        'The form was missing its security token or it had expired. Go back, reload the page and send it again.';
    } else if ((err as { statusCode?: number }).statusCode === 429) {
      status = 429;
      title = 'Too many attempts';
      message = 'Too many sign-in attempts from this address. Wait a minute and try again.';
    } else if (isRostersyncError(err)) {
      status =
        { not_found: 404, auth: 403, conflict: 409, input: 400, config: 400 }[err.code as string] ?? 500;
      title =
        status === 404
          ? 'Not found'
          : status === 403
            ? 'Not allowed'
            : status === 409
              ? 'Not possible now'
              : 'Cannot do that';
      message = errorMessage(err);
    } else if ((err as { validation?: unknown }).validation) {
      status = 400;
      title = 'Cannot do that';
      message = 'The request was not understood.';
    } else {
      req.log.error({ err: errorMessage(err) }, 'admin page failed');
    }
    return reply
      .code(status)
      .type('text/html')
      .send(await page(reply, 'error', { title, message, code: status, admin: req.admin }));
  });

  app.setNotFoundHandler(async (req, reply) =>
    reply
      .code(404)
      .type('text/html')
      .send(
        await page(reply, 'error', {
          title: 'Not found',
          message: 'There is no page at this address.',
          code: 404,
          admin: req.admin,
        }),
      ),
  );

  async function page(reply: FastifyReply, view: string, data: Record<string, unknown>): Promise<string> {
    const csrf = reply.generateCsrf();
    return reply.viewAsync(view, { admin: null, ...data, csrf, now: store.clock() });
  }
  async function render(
    req: FastifyRequest,
    reply: FastifyReply,
    view: string,
    data: Record<string, unknown>,
  ) {
    return reply.type('text/html').send(
      await page(reply, view, {
        admin: req.admin,
        flash: takeFlash(req, reply),
        ...data,
      }),
    );
  }
  const me = (req: FastifyRequest): Admin => req.admin!;

  /**
   * After a form: redirect (so a reload does not send it again) with a one-time message in a
   * signed cookie, which the next page shows in its status region. Not in the URL, where a crafted
   * link could make the app say anything.
   */
  function flashTo(reply: FastifyReply, url: string, message: string) {
    reply.setCookie(FLASH_COOKIE, message, {
      path: '/admin',
      httpOnly: true,
      sameSite: 'strict',
      secure: opts.secureCookies,
      signed: true,
      maxAge: 60,
    });
    return reply.redirect(url, 303);
  }
  function takeFlash(req: FastifyRequest, reply: FastifyReply): string {
    const raw = req.cookies[FLASH_COOKIE];
    if (raw === undefined) return '';
    reply.clearCookie(FLASH_COOKIE, { path: '/admin' });
    const v = req.unsignCookie(raw);
    return v.valid ? (v.value ?? '') : '';
  }

  app.get('/assets/htmx.min.js', (_req, reply) =>
    reply.type('text/javascript').header('cache-control', 'public, max-age=86400').send(HTMX),
  );
  app.get('/assets/admin.css', (_req, reply) =>
    reply
      .type('text/css')
      .header('cache-control', 'public, max-age=300')
      .send(readFileSync(`${here}views/admin.css`)),
  );

  // --- sign-in -----------------------------------------------------------------------------
  app.get('/login', async (req, reply) =>
    render(req, reply, 'login', {
      title: 'Sign in',
      next: safeNext((req.query as Record<string, unknown>).next),
      error: '',
    }),
  );

  app.post(
    '/login',
    { config: { rateLimit: { max: opts.loginRateLimit ?? 10, timeWindow: 60_000 } } },
    async (req, reply) => {
      const body = (req.body ?? {}) as Record<string, unknown>;
      const email = str(body.email);
      const r = await signIn(store, email, str(body.password));
      if (!r.ok) {
        const error =
          r.reason === 'locked'
            ? `Too many wrong passwords for this email: sign-in is locked until ${f.utc(r.lockedUntil)}.`
            : 'That email and password do not match.';
        return reply
          .code(r.reason === 'locked' ? 429 : 401)
          .type('text/html')
          .send(await page(reply, 'login', { title: 'Sign in', next: safeNext(body.next), error, email }));
      }
      setSession(reply, r.sessionToken);
      return reply.redirect(safeNext(body.next), 303);
    },
  );

  function setSession(reply: FastifyReply, token: string): void {
    reply.setCookie(SESSION_COOKIE, token, {
      path: '/',
      httpOnly: true,
      sameSite: 'strict',
      secure: opts.secureCookies,
      maxAge: SESSION_TTL_MS / 1000,
    });
  }

  app.get('/setup', async (req, reply) => {
    const token = str((req.query as Record<string, unknown>).token);
    const admin = token ? await setupAdmin(store, token) : undefined;
    if (!admin)
      return reply
        .code(404)
        .type('text/html')
        .send(
          await page(reply, 'error', {
            title: 'This link does not work',
            message:
              'The setup link was used already or has expired. Ask for a new one (`rostersync admins create EMAIL`).',
            code: 404,
          }),
        );
    return render(req, reply, 'setup', {
      title: 'Choose a password',
      token,
      email: admin.email,
      min: MIN_PASSWORD_LENGTH,
      error: '',
    });
  });

  app.post(
    '/setup',
    { config: { rateLimit: { max: opts.loginRateLimit ?? 10, timeWindow: 60_000 } } },
    async (req, reply) => {
      const body = (req.body ?? {}) as Record<string, unknown>;
      const token = str(body.token);
      const password = str(body.password);
      const admin = await setupAdmin(store, token);
      if (admin && password !== str(body.confirm))
        return reply
          .code(400)
          .type('text/html')
          .send(
            await page(reply, 'setup', {
              title: 'Choose a password',
              token,
              email: admin.email,
              min: MIN_PASSWORD_LENGTH,
              error: 'The two passwords are not the same.',
            }),
          );
      try {
        const r = await completeSetup(store, token, password);
        setSession(reply, r.sessionToken);
        return reply.redirect('/admin', 303);
      } catch (err) {
        if (admin && isRostersyncError(err, 'input'))
          return reply
            .code(400)
            .type('text/html')
            .send(
              await page(reply, 'setup', {
                title: 'Choose a password',
                token,
                email: admin.email,
                min: MIN_PASSWORD_LENGTH,
                error: errorMessage(err),
              }),
            );
        throw err;
      }
    },
  );

  app.post('/logout', async (req, reply) => {
    const token = req.cookies[SESSION_COOKIE];
    if (token) await signOut(store, token);
    reply.clearCookie(SESSION_COOKIE, { path: '/' });
    return reply.redirect('/admin/login', 303);
  });

  // --- pages -------------------------------------------------------------------------------
  app.get('/', async (req, reply) => {
    const state = str((req.query as Record<string, unknown>).state);
    const d = await dashboard(store, me(req), { timezone: opts.timezone, ...(state ? { state } : {}) });
    return render(req, reply, 'dashboard', { title: 'Districts', d, state });
  });

  app.get('/districts/:id', async (req, reply) => {
    const { id } = idParam.parse(req.params);
    const p = await districtPage(store, me(req), id, { timezone: opts.timezone });
    return render(req, reply, 'district', { title: p.district.name, p, canPlan: !!opts.planSchoolFilter });
  });

  app.post('/districts/:id/school-filter', async (req, reply) => {
    const { id } = idParam.parse(req.params);
    const body = (req.body ?? {}) as Record<string, unknown>;
    if (str(body.action) === 'preview' && opts.planSchoolFilter) {
      const preview = await previewSchoolFilter(store, me(req), id, list(body.school), {
        timezone: opts.timezone,
        plan: opts.planSchoolFilter,
      });
      const p = await districtPage(store, me(req), id, { timezone: opts.timezone });
      return render(req, reply, 'district', { title: p.district.name, p, preview, canPlan: true });
    }
    const change = await saveSchoolFilter(store, me(req), id, list(body.school), { timezone: opts.timezone });
    const msg =
      change.out.length + change.in.length === 0
        ? 'School filter unchanged; a run was requested.'
        : `School filter saved: ${change.out.length} school(s) out (${change.studentsOut} students), ${change.in.length} in (${change.studentsIn} students). A run was requested; if it would deactivate too many accounts it is held for review.`;
    return flashTo(reply, `/admin/districts/${encodeURIComponent(id)}`, msg);
  });

  app.post('/districts/:id/run', async (req, reply) => {
    const { id } = idParam.parse(req.params);
    await requestRunNow(store, me(req), id);
    return flashTo(
      reply,
      `/admin/districts/${encodeURIComponent(id)}`,
      'Run requested: it starts within a few seconds.',
    );
  });

  app.get('/runs/:id', async (req, reply) => {
    const { id } = idParam.parse(req.params);
    const q = req.query as Record<string, unknown>;
    const p = await runPage(store, me(req), id, {
      q: str(q.q),
      severity: str(q.severity),
      ...(str(q.after) ? { after: str(q.after) } : {}),
    });
    return render(req, reply, 'run', { title: `Run ${p.run.id}`, p });
  });

  app.get('/runs/:id/problems.csv', async (req, reply) => {
    const { id } = idParam.parse(req.params);
    const q = req.query as Record<string, unknown>;
    const csv = await runProblemsCsv(store, me(req), id, { q: str(q.q), severity: str(q.severity) });
    return reply
      .type('text/csv; charset=utf-8')
      .header('content-disposition', `attachment; filename="run-${id.replace(/[^\w.-]/g, '_')}-problems.csv"`)
      .send(csv);
  });

  app.get('/runs/:id/pending.csv', async (req, reply) => {
    const { id } = idParam.parse(req.params);
    const csv = await pendingCsv(store, me(req), id);
    return reply
      .type('text/csv; charset=utf-8')
      .header(
        'content-disposition',
        `attachment; filename="run-${id.replace(/[^\w.-]/g, '_')}-deactivations.csv"`,
      )
      .send(csv);
  });

  for (const verb of ['approve', 'reject'] as const) {
    app.post(`/runs/:id/${verb}`, async (req, reply) => {
      const { id } = idParam.parse(req.params);
      const body = (req.body ?? {}) as Record<string, unknown>;
      const done =
        verb === 'approve'
          ? await approveShownRun(store, me(req), id, str(body.expected))
          : await rejectHeldRun(store, me(req), id);
      const msg =
        verb === 'approve'
          ? `Approved by ${me(req).email}: ${done.counts.accounts.deactivated} accounts deactivated.`
          : `Rejected by ${me(req).email}: nothing was changed; the next run checks again.`;
      return flashTo(reply, `/admin/runs/${encodeURIComponent(id)}`, msg);
    });
  }

  app.get('/accounts', async (req, reply) => {
    const q = str((req.query as Record<string, unknown>).q);
    const results = await searchAccounts(store, me(req), q);
    return render(req, reply, 'accounts', { title: 'Accounts', q, results });
  });

  app.get('/accounts/:id', async (req, reply) => {
    const { id } = idParam.parse(req.params);
    const p = await accountPage(store, me(req), id);
    return render(req, reply, 'account', { title: p.name, p });
  });

  app.get('/webhooks', async (req, reply) => {
    const hooks = await webhooksPage(store, me(req));
    return render(req, reply, 'webhooks', { title: 'Webhooks', hooks, secret: '' });
  });

  app.post('/webhooks', async (req, reply) => {
    const url = str(((req.body ?? {}) as Record<string, unknown>).url).trim();
    try {
      const secret = await addWebhook(store, me(req), url, opts.secretBox);
      const hooks = await webhooksPage(store, me(req));
      return render(req, reply, 'webhooks', {
        title: 'Webhooks',
        hooks,
        secret,
        flash: `Webhook added for ${url}.`,
      });
    } catch (err) {
      if (!isRostersyncError(err, 'input')) throw err;
      const hooks = await webhooksPage(store, me(req));
      return reply
        .code(400)
        .type('text/html')
        .send(
          await page(reply, 'webhooks', {
            admin: req.admin,
            title: 'Webhooks',
            hooks,
            secret: '',
            error: errorMessage(err),
          }),
        );
    }
  });

  app.post('/webhooks/:id/delete', async (req, reply) => {
    const { id } = idParam.parse(req.params);
    await removeWebhook(store, me(req), id);
    return flashTo(reply, '/admin/webhooks', 'Webhook removed.');
  });

  app.get('/api-keys', async (req, reply) => {
    const keys = await apiKeysPage(store, me(req));
    return render(req, reply, 'api-keys', { title: 'API keys', keys, token: '' });
  });

  app.post('/api-keys', async (req, reply) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    try {
      const { key, token } = await addApiKey(store, me(req), str(body.name), str(body.scope));
      const keys = await apiKeysPage(store, me(req));
      // The key is on this page only: no cache may keep it.
      reply.header('cache-control', 'no-store');
      return render(req, reply, 'api-keys', {
        title: 'API keys',
        keys,
        token,
        flash: `API key ${key.id} created (${key.scope}).`,
      });
    } catch (err) {
      if (!isRostersyncError(err, 'input')) throw err;
      const keys = await apiKeysPage(store, me(req));
      return reply
        .code(400)
        .type('text/html')
        .send(
          await page(reply, 'api-keys', {
            admin: req.admin,
            title: 'API keys',
            keys,
            token: '',
            error: errorMessage(err),
            name: str(body.name),
          }),
        );
    }
  });

  app.post('/api-keys/:id/revoke', async (req, reply) => {
    const { id } = idParam.parse(req.params);
    await revokeKey(store, me(req), id);
    return flashTo(reply, '/admin/api-keys', `API key ${id} revoked: the API refuses it within seconds.`);
  });
};
