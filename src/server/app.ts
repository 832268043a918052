import Fastify from 'fastify';
import type { FastifyInstance } from 'fastify';
import type { ServiceMetrics } from '../jobs/service-metrics.js';
import type { Store } from '../store/store.js';
import { healthPlugin } from './health.js';
import { metricsPlugin } from './metrics.js';

export interface AppOptions {
  store: Store;
  metrics: ServiceMetrics;
  /** True once the process is shutting down (readiness turns 503). Default: never. */
  draining?: () => boolean;
}

/**
 * The one HTTP app of the product. It only composes plugins, one per area (health, metrics; later
 * the REST API, the admin pages and Clever sign-in); no domain rule lives here.
 */
export async function buildApp(opts: AppOptions): Promise<FastifyInstance> {
  // No request logs: probes and scrapes every few seconds would drown the runs' own logs.
  const app = Fastify({ logger: false });
  await app.register(healthPlugin, { store: opts.store, draining: opts.draining ?? (() => false) });
  await app.register(metricsPlugin, { metrics: opts.metrics });
  return app;
}
