import Fastify from 'fastify';
import type { FastifyInstance } from 'fastify';
import type { ServiceMetrics } from '../jobs/service-metrics.js';
import type { Store } from '../store/store.js';
import { healthPlugin } from './health.js';
import { metricsPlugin } from './metrics.js';

export interface ProbeAppOptions {
  store: Store;
  metrics: ServiceMetrics;
  /** True once the process is shutting down (readiness turns 503). */
  draining: () => boolean;
}

/**
 * The HTTP face of a `rostersync worker`: only `/healthz`, `/readyz` and `/metrics`. A worker runs
 * the district jobs, so its runs, records and Clever requests are counted in its own registry and
 * scraped from it; it serves nothing a person or an app would call (that is `serve`'s app).
 */
export async function buildProbeApp(opts: ProbeAppOptions): Promise<FastifyInstance> {
  const app = Fastify({ logger: false });
  await app.register(healthPlugin, { store: opts.store, draining: opts.draining });
  await app.register(metricsPlugin, { metrics: opts.metrics });
  return app;
}
