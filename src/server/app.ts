import Fastify from 'fastify';
import type { FastifyInstance } from 'fastify';
import type { ServiceMetrics } from '../jobs/service-metrics.js';
import type { Logger } from '../shared/logger.js';
import { silentLogger } from '../shared/logger.js';
import type { Store } from '../store/store.js';
import { apiPlugin } from './api/api-plugin.js';
import { healthPlugin } from './health.js';
import { metricsPlugin } from './metrics.js';

export interface AppOptions {
  store: Store;
  metrics: ServiceMetrics;
  /** True once the process is shutting down (readiness turns 503). Default: never. */
  draining?: () => boolean;
  /** Where the areas log (the API's request log). Default: nowhere. */
  logger?: Logger;
  /** The REST API (/api/v1). Default: requests per key per minute 6000, schedules in UTC. */
  api?: { rateLimitPerMinute?: number; timezone?: string };
}

/**
 * The one HTTP app of the product. It only composes plugins, one per area (health, metrics, the
 * REST API; later the admin pages and Clever sign-in); no domain rule lives here.
 */
export async function buildApp(opts: AppOptions): Promise<FastifyInstance> {
  // No request logs: probes and scrapes every few seconds would drown the runs' own logs.
  const app = Fastify({ logger: false });
  await app.register(healthPlugin, { store: opts.store, draining: opts.draining ?? (() => false) });
  await app.register(metricsPlugin, { metrics: opts.metrics });
  await app.register(apiPlugin, {
    store: opts.store,
    logger: opts.logger ?? silentLogger(),
    rateLimitPerMinute: opts.api?.rateLimitPerMinute ?? 6000,
    timezone: opts.api?.timezone ?? 'UTC',
  });
  return app;
}
