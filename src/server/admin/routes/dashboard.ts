import type { FastifyInstance } from 'fastify';
import { dashboard } from '../../../jobs/admin-views/dashboard.js';
import { me, str } from './route-deps.js';
import type { RouteDeps } from './route-deps.js';

/** The dashboard: every district the admin may see. */
export function registerDashboardRoutes(app: FastifyInstance, deps: RouteDeps): void {
  const { store, opts, render } = deps;

  app.get('/', async (req, reply) => {
    const state = str((req.query as Record<string, unknown>).state);
    const d = await dashboard(store, me(req), { timezone: opts.timezone, ...(state ? { state } : {}) });
    return render(req, reply, 'dashboard', { title: 'Districts', d, state });
  });
}
