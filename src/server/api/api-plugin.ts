import fastifyRateLimit from '@fastify/rate-limit';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import type { FastifyPluginAsync } from 'fastify';
import {
  jsonSchemaTransform,
  jsonSchemaTransformObject,
  serializerCompiler,
  validatorCompiler,
} from 'fastify-type-provider-zod';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Logger } from '../../shared/logger.js';
import type { Store } from '../../store/store.js';
import { addKeyCheck } from './auth.js';
import { ApiError, apiErrorHandler } from './errors.js';
import { accountRoutes } from './routes/accounts.js';
import { changeRoutes } from './routes/changes.js';
import { districtRoutes } from './routes/districts.js';
import { rosterRoutes } from './routes/roster.js';
import { runRoutes } from './routes/runs.js';

export interface ApiOptions {
  store: Store;
  logger: Logger;
  /** Requests per minute per key (api.rateLimitPerMinute). */
  rateLimitPerMinute: number;
  /** Zone of schedules that name none (service.timezone). */
  timezone: string;
}

export const API_PREFIX = '/api/v1';
export const API_DOCS = '/api/docs';

/**
 * The REST API: `/api/v1` (JSON, bearer API keys, zod-validated input), its OpenAPI document at
 * `/api/v1/openapi.json` and Swagger UI at `/api/docs`. Register it without a prefix: it names its
 * own paths. Everything here is encapsulated (hooks, error handler, validators), so the rest of the
 * app is untouched.
 */
export const apiPlugin: FastifyPluginAsync<ApiOptions> = async (root, opts) => {
  await root.register(async (app) => {
    app.setValidatorCompiler(validatorCompiler);
    app.setSerializerCompiler(serializerCompiler);
    app.setErrorHandler(apiErrorHandler(opts.logger));
    await app.register(fastifySwagger, {
      openapi: {
        info: {
          title: 'rostersync API',
          version: '1',
          description:
            'The roster, accounts, runs and the account change feed. Every route needs `Authorization: Bearer <key>` (`rostersync api-keys create`); changes need a key with the admin scope. Errors are `{code, message, details}`.',
        },
        components: {
          securitySchemes: {
            apiKey: { type: 'http', scheme: 'bearer', description: 'a key of any scope (api-keys create)' },
            adminKey: { type: 'http', scheme: 'bearer', description: 'a key with the admin scope' },
          },
        },
        security: [{ apiKey: [] }],
      },
      transform: jsonSchemaTransform,
      transformObject: jsonSchemaTransformObject,
    });
    // Swagger UI's routes are public; the key check below treats routes without an `access` as `read`.
    app.addHook('onRoute', (route) => {
      if (route.url.startsWith(API_DOCS)) route.config = { ...(route.config ?? {}), access: 'public' };
    });
    await app.register(fastifySwaggerUi, {
      routePrefix: API_DOCS,
      uiConfig: { url: `${API_PREFIX}/openapi.json` },
    });
    addKeyCheck(app, opts.store);
    // Per key (after the key check, before the body is read); unauthenticated routes per address.
    await app.register(fastifyRateLimit, {
      hook: 'preParsing',
      max: opts.rateLimitPerMinute,
      timeWindow: 60_000,
      keyGenerator: (req) => (req.apiKey ? `key:${req.apiKey.id}` : `ip:${req.ip}`),
      errorResponseBuilder: (_req, ctx) =>
        new ApiError(
          429,
          'rate_limited',
          `rate limit of ${ctx.max} requests a minute reached; retry in ${ctx.after}`,
        ),
    });
    // Request logs: the route's pattern, never the URL (ids and search text stay out), and the key's id.
    app.addHook('onResponse', (req, reply, done) => {
      opts.logger.info(
        {
          method: req.method,
          route: req.routeOptions.url ?? 'unmatched',
          status: reply.statusCode,
          ms: Math.round(reply.elapsedTime),
          key: req.apiKey?.id ?? null,
        },
        'api request',
      );
      done();
    });

    const api = app.withTypeProvider<ZodTypeProvider>();
    api.get(`${API_PREFIX}/openapi.json`, { config: { access: 'public' }, schema: { hide: true } }, () =>
      app.swagger(),
    );
    await api.register(
      async (v1) => {
        await v1.register(districtRoutes, { store: opts.store, timezone: opts.timezone });
        await v1.register(runRoutes, { store: opts.store });
        await v1.register(rosterRoutes, { store: opts.store });
        await v1.register(accountRoutes, { store: opts.store });
        await v1.register(changeRoutes, { store: opts.store });
        // Only under the prefix: the rest of the app keeps its own 404.
        v1.setNotFoundHandler((_req, reply) =>
          reply.code(404).send({ code: 'not_found', message: 'no such route' }),
        );
      },
      { prefix: API_PREFIX },
    );
  });
};
