import type { FastifyInstance, FastifyReply } from 'fastify';
import {
  completeSetup,
  MIN_PASSWORD_LENGTH,
  SESSION_TTL_MS,
  setupAdmin,
  signIn,
  signOut,
} from '../../../accounts/admin-auth.js';
import { isRostersyncError, errorMessage } from '../../../shared/errors.js';
import * as f from '../format.js';
import { SESSION_COOKIE, str } from './route-deps.js';
import type { RouteDeps } from './route-deps.js';

/** Only same-site paths under /admin are followed after sign-in (no open redirect). */
function safeNext(v: unknown): string {
  const s = str(v);
  return s.startsWith('/admin') && !s.startsWith('//') ? s : '/admin';
}

/** Sign-in with email and password, the one-time setup link, sign-out. */
export function registerAuthRoutes(app: FastifyInstance, deps: RouteDeps): void {
  const { store, opts, page, render } = deps;
  // Password sign-in and setup, per address: the lockout (see signIn) guards each account besides.
  const limited = { config: { rateLimit: { max: opts.loginRateLimit ?? 10, timeWindow: 60_000 } } };

  app.get('/login', async (req, reply) =>
    render(req, reply, 'login', {
      title: 'Sign in',
      next: safeNext((req.query as Record<string, unknown>).next),
      error: '',
    }),
  );

  app.post('/login', limited, async (req, reply) => {
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
  });

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

  app.post('/setup', limited, async (req, reply) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const token = str(body.token);
    const password = str(body.password);
    const admin = await setupAdmin(store, token);
    // The setup form again, saying what was wrong.
    const again = async (email: string, error: string) =>
      reply
        .code(400)
        .type('text/html')
        .send(
          await page(reply, 'setup', {
            title: 'Choose a password',
            token,
            email,
            min: MIN_PASSWORD_LENGTH,
            error,
          }),
        );
    if (admin && password !== str(body.confirm))
      return again(admin.email, 'The two passwords are not the same.');
    try {
      const r = await completeSetup(store, token, password);
      setSession(reply, r.sessionToken);
      return reply.redirect('/admin', 303);
    } catch (err) {
      if (admin && isRostersyncError(err, 'input')) return again(admin.email, errorMessage(err));
      throw err;
    }
  });

  app.post('/logout', async (req, reply) => {
    const token = req.cookies[SESSION_COOKIE];
    if (token) await signOut(store, token);
    reply.clearCookie(SESSION_COOKIE, { path: '/' });
    return reply.redirect('/admin/login', 303);
  });
}
