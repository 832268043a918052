import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Admin } from '../../../store/queries/admins.js';
import type { Store } from '../../../store/store.js';
import type { AdminOptions } from '../admin-plugin.js';

export const SESSION_COOKIE = 'rostersync_admin';
const FLASH_COOKIE = 'rostersync_flash';

export const idParam = z.object({ id: z.string().min(1).max(200) });
export const str = (v: unknown): string => (typeof v === 'string' ? v : '');
export const list = (v: unknown): string[] =>
  Array.isArray(v) ? v.map(str) : typeof v === 'string' ? [v] : [];

/** What every admin route file needs: the options, and the helpers that render pages and send flashes. */
export interface RouteDeps {
  store: Store;
  opts: AdminOptions;
  page: (reply: FastifyReply, view: string, data: Record<string, unknown>) => Promise<string>;
  render: (
    req: FastifyRequest,
    reply: FastifyReply,
    view: string,
    data: Record<string, unknown>,
  ) => Promise<FastifyReply>;
  flashTo: (reply: FastifyReply, url: string, message: string) => FastifyReply;
}

export const me = (req: FastifyRequest): Admin => req.admin!;

export function routeDeps(opts: AdminOptions): RouteDeps {
  const { store } = opts;
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

  return { store, opts, page, render, flashTo };
}
