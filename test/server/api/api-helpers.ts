import type { FastifyInstance } from 'fastify';
import { ServiceMetrics } from '../../../src/jobs/service-metrics.js';
import { createApiKey } from '../../../src/accounts/api-keys.js';
import { buildApp } from '../../../src/server/app.js';
import type { Logger } from '../../../src/shared/logger.js';
import type { Store } from '../../../src/store/store.js';

export interface ApiServer {
  app: FastifyInstance;
  url: string;
  readKey: string;
  adminKey: string;
  /** A request over real HTTP; `key` null sends none. The body is parsed as JSON when it is JSON. */
  call(
    method: string,
    path: string,
    opts?: { key?: string | null; body?: unknown; rawBody?: string },
  ): Promise<{ status: number; body: unknown; text: string; headers: Headers }>;
  close(): Promise<void>;
}

/** The app over `store`, listening on a free port, with a read key and an admin key. */
export async function startApi(
  store: Store,
  opts: { rateLimitPerMinute?: number; logger?: Logger } = {},
): Promise<ApiServer> {
  const app = await buildApp({
    store,
    metrics: new ServiceMetrics(),
    ...(opts.logger ? { logger: opts.logger } : {}),
    api: opts.rateLimitPerMinute !== undefined ? { rateLimitPerMinute: opts.rateLimitPerMinute } : {},
  });
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  const readKey = (await createApiKey(store, { name: 'test read', scope: 'read' })).token;
  const adminKey = (await createApiKey(store, { name: 'test admin', scope: 'admin' })).token;
  return {
    app,
    url,
    readKey,
    adminKey,
    async call(method, path, opts = {}) {
      const key = opts.key === undefined ? readKey : opts.key;
      const headers: Record<string, string> = {};
      if (key !== null) headers.authorization = `Bearer ${key}`;
      let body: string | undefined;
      if (opts.rawBody !== undefined) {
        body = opts.rawBody;
        headers['content-type'] = 'application/json';
      } else if (opts.body !== undefined) {
        body = JSON.stringify(opts.body);
        headers['content-type'] = 'application/json';
      }
      const res = await fetch(url + path, { method, headers, ...(body !== undefined ? { body } : {}) });
      const text = await res.text();
      let parsed: unknown = text;
      if ((res.headers.get('content-type') ?? '').includes('json')) parsed = JSON.parse(text) as unknown;
      return { status: res.status, body: parsed, text, headers: res.headers };
    },
    close: () => app.close(),
  };
}
