import type { FastifyPluginAsync } from 'fastify';
import { errorMessage } from '../shared/errors.js';
import type { Store } from '../store/store.js';

export interface HealthOptions {
  store: Store;
  /** True once the process is shutting down: it stays alive but is no longer ready. */
  draining: () => boolean;
}

/**
 * `GET /healthz`: the process is alive (nothing else is checked, so a slow database does not get
 * it restarted). `GET /readyz`: the database answers and its migrations are applied, and the process
 * is not shutting down; 503 with the failing check otherwise.
 */
export const healthPlugin: FastifyPluginAsync<HealthOptions> = (app, opts) => {
  app.get('/healthz', () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    if (opts.draining()) return reply.code(503).send({ status: 'draining' });
    try {
      await opts.store.service.ping();
    } catch (err) {
      return reply.code(503).send({ status: 'unavailable', database: `unreachable: ${errorMessage(err)}` });
    }
    let m;
    try {
      m = await opts.store.service.migrationState();
    } catch (err) {
      // No migration table yet: nothing was ever applied.
      return reply
        .code(503)
        .send({ status: 'unavailable', database: `migrations not applied: ${errorMessage(err)}` });
    }
    if (!m.upToDate)
      return reply.code(503).send({
        status: 'unavailable',
        database: `migration ${m.latest} not applied (at ${m.current ?? 'none'})`,
      });
    return { status: 'ready', database: 'ok', migration: m.current };
  });
  return Promise.resolve();
};
