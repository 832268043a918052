import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';
import type { FastifyPluginAsync } from 'fastify';
import fastifyCookie from '@fastify/cookie';
import fastifyCsrf from '@fastify/csrf-protection';
import fastifyFormbody from '@fastify/formbody';
import fastifyHelmet from '@fastify/helmet';
import fastifyRateLimit from '@fastify/rate-limit';
import fastifyView from '@fastify/view';
import { Eta } from 'eta';
import { sessionAdmin } from '../../accounts/admin-auth.js';
import { STATE_LABELS } from '../../jobs/admin-views/dashboard.js';
import type { PlanSchoolFilter } from '../../jobs/admin-views/district.js';
import { PENDING_PAGE_SIZE } from '../../jobs/admin-views/run.js';
import { isRostersyncError, errorMessage } from '../../shared/errors.js';
import type { Admin } from '../../store/queries/admins.js';
import type { SecretBox } from '../../store/secrets.js';
import type { Store } from '../../store/store.js';
import { runChart } from './chart.js';
import * as f from './format.js';
import { registerAccountRoutes } from './routes/accounts.js';
import { registerApiKeyRoutes } from './routes/api-keys.js';
import { registerAuthRoutes } from './routes/auth.js';
import { registerDashboardRoutes } from './routes/dashboard.js';
import { registerDistrictRoutes } from './routes/districts.js';
import { SESSION_COOKIE, routeDeps } from './routes/route-deps.js';
import { registerRunRoutes } from './routes/runs.js';
import { registerWebhookRoutes } from './routes/webhooks.js';

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

const here = fileURLToPath(new URL('.', import.meta.url));
const PUBLIC_PATHS = new Set([
  '/admin/login',
  '/admin/setup',
  '/admin/assets/admin.css',
  '/admin/assets/htmx.min.js',
]);

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
  const deps = routeDeps(opts);
  const { page } = deps;

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

  // Read once, when the app is built (not when the module is imported).
  const htmx = readFileSync(createRequire(import.meta.url).resolve('htmx.org/dist/htmx.min.js'));
  const css = readFileSync(`${here}views/admin.css`);
  app.get('/assets/htmx.min.js', (_req, reply) =>
    reply.type('text/javascript').header('cache-control', 'public, max-age=86400').send(htmx),
  );
  app.get('/assets/admin.css', (_req, reply) =>
    reply.type('text/css').header('cache-control', 'public, max-age=300').send(css),
  );

  registerAuthRoutes(app, deps);
  registerDashboardRoutes(app, deps);
  registerDistrictRoutes(app, deps);
  registerRunRoutes(app, deps);
  registerAccountRoutes(app, deps);
  registerWebhookRoutes(app, deps);
  registerApiKeyRoutes(app, deps);
};
