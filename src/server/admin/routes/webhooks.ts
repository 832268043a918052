import type { FastifyInstance } from 'fastify';
import { addWebhook, removeWebhook, webhooksPage } from '../../../jobs/admin-views/webhooks.js';
import { isRostersyncError, errorMessage } from '../../../shared/errors.js';
import { idParam, me, str } from './route-deps.js';
import type { RouteDeps } from './route-deps.js';

/** Webhooks of the account change feed: list, add, remove. */
export function registerWebhookRoutes(app: FastifyInstance, deps: RouteDeps): void {
  const { store, opts, page, render, flashTo } = deps;

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
}
