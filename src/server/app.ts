import Fastify from 'fastify';
import type { FastifyInstance } from 'fastify';
import type { ServiceMetrics } from '../jobs/service-metrics.js';
import type { Logger } from '../shared/logger.js';
import { silentLogger } from '../shared/logger.js';
import type { SecretBox } from '../store/secrets.js';
import type { Store } from '../store/store.js';
import { adminPlugin } from './admin/admin-plugin.js';
import type { AdminOptions } from './admin/admin-plugin.js';
import { apiPlugin } from './api/api-plugin.js';
import { cleverSignInPlugin } from './auth/clever-sign-in.js';
import type { CleverSignInConfig } from './auth/clever-sign-in.js';
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
  /**
   * Clever sign-in (`/auth/clever/*`, `/.well-known/jwks.json`); absent: those routes are not
   * served. `secretBox` keeps a generated signing key when none is configured.
   */
  signIn?: {
    config: CleverSignInConfig;
    logger: Logger;
    secretBox: () => SecretBox;
    /** Clock (epoch ms) of the login-state cookie's expiry. Default Date.now. */
    now?: () => number;
  };
  /** The admin web app under /admin; absent: not served. */
  admin?: Omit<AdminOptions, 'store'>;
}

/**
 * The one HTTP app of the product. It only composes plugins, one per area (health, metrics, the
 * REST API, Clever sign-in, the admin pages); no domain rule lives here.
 */
export async function buildApp(opts: AppOptions): Promise<FastifyInstance> {
  // No request logs: probes and scrapes every few seconds would drown the runs' own logs.
  const app = Fastify({ logger: false });
  await app.register(healthPlugin, { store: opts.store, draining: opts.draining ?? (() => false) });
  await app.register(metricsPlugin, { metrics: opts.metrics });
  if (opts.signIn)
    await app.register(cleverSignInPlugin, { store: opts.store, metrics: opts.metrics, ...opts.signIn });
  await app.register(apiPlugin, {
    store: opts.store,
    logger: opts.logger ?? silentLogger(),
    rateLimitPerMinute: opts.api?.rateLimitPerMinute ?? 6000,
    timezone: opts.api?.timezone ?? 'UTC',
  });
  if (opts.admin) await app.register(adminPlugin, { ...opts.admin, store: opts.store, prefix: '/admin' });
  return app;
}
