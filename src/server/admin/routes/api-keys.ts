import type { FastifyInstance } from 'fastify';
import { addApiKey, apiKeysPage, revokeKey } from '../../../jobs/admin-views/api-keys.js';
import { isRostersyncError, errorMessage } from '../../../shared/errors.js';
import { idParam, me, str } from './route-deps.js';
import type { RouteDeps } from './route-deps.js';

/** Keys of the REST API: list, create, revoke. */
export function registerApiKeyRoutes(app: FastifyInstance, deps: RouteDeps): void {
  const { store, page, render, flashTo } = deps;

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
}
