import type { FastifyPluginAsync } from 'fastify';
import type { ServiceMetrics } from '../jobs/service-metrics.js';

export interface MetricsOptions {
  metrics: ServiceMetrics;
}

/** `GET /metrics`: Prometheus text exposition of the service's metrics (see jobs/service-metrics.ts). */
export const metricsPlugin: FastifyPluginAsync<MetricsOptions> = (app, opts) => {
  app.get('/metrics', async (_req, reply) => {
    const text = await opts.metrics.text();
    return reply.header('content-type', opts.metrics.contentType).send(text);
  });
  return Promise.resolve();
};
