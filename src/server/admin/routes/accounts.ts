import type { FastifyInstance } from 'fastify';
import { accountPage, searchAccounts } from '../../../jobs/admin-views/accounts.js';
import { idParam, me, str } from './route-deps.js';
import type { RouteDeps } from './route-deps.js';

/** Account search and one account's page. */
export function registerAccountRoutes(app: FastifyInstance, deps: RouteDeps): void {
  const { store, render } = deps;

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
}
