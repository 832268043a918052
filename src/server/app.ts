import Fastify from 'fastify';
import type { FastifyInstance } from 'fastify';
import type { ServiceMetrics } from '../jobs/service-metrics.js';
import type { Store } from '../store/store.js';
import { adminPlugin } from './admin/admin-plugin.js';
import type { AdminOptions } from './admin/admin-plugin.js';
import { healthPlugin } from './health.js';
import { metricsPlugin } from './metrics.js';

export interface AppOptions {
  store: Store;
  metrics: ServiceMetrics;
  /** True once the process is shutting down (readiness turns 503). Default: never. */
  draining?: () => boolean;
  /** The admin web app under /admin; absent: not served. */
  admin?: Omit<AdminOptions, 'store'>;
}

/**
 * The one HTTP app of the product. It only composes plugins, one per area (health, metrics, the admin
 * pages; later the REST API and Clever sign-in); no domain rule lives here.
 */
export async function buildApp(opts: AppOptions): Promise<FastifyInstance> {
  // No request logs: probes and scrapes every few seconds would drown the runs' own logs.
  const app = Fastify({ logger: false });
  await app.register(healthPlugin, { store: opts.store, draining: opts.draining ?? (() => false) });
  await app.register(metricsPlugin, { metrics: opts.metrics });
  if (opts.admin) await app.register(adminPlugin, { ...opts.admin, store: opts.store, prefix: '/admin' });
  return app;
}
