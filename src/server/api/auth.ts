import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ApiKeyScope } from '../../store/queries/api-keys.js';
import type { Store } from '../../store/store.js';
import { verifyApiKey } from '../../accounts/api-keys.js';
import type { ApiKeyInfo } from '../../accounts/api-keys.js';
import { ApiError } from './errors.js';

/** Who may call a route: anyone (the OpenAPI document, the docs page), a key of any scope, an admin key. */
export type RouteAccess = 'public' | ApiKeyScope;

declare module 'fastify' {
  interface FastifyRequest {
    /** The API key the request was made with, once checked. */
    apiKey: ApiKeyInfo | null;
  }
  interface FastifyContextConfig {
    /** Default `read`. */
    access?: RouteAccess;
  }
}

function bearer(req: FastifyRequest): string | null {
  const h = req.headers.authorization;
  if (typeof h !== 'string') return null;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
  return m ? m[1]! : null;
}

/**
 * How long a checked key is taken on trust without reading it again (ms): a revoked key is refused
 * at most this long after `api-keys revoke`. Saves a database round trip on nearly every request.
 */
const KEY_TRUST_MS = 10_000;

/** Keys checked lately, by the whole token; cleared when it holds this many (a flood of made-up keys never gets in). */
const KEY_CACHE_SIZE = 1000;

/**
 * Checks the bearer key of every request of the plugin it is added to, before anything else reads
 * the request: 401 without a valid key, 403 when the route needs the admin scope and the key has
 * only `read`. Requests that match no route need a key too, so the API's shape is not probed
 * without one.
 */
export function addKeyCheck(app: FastifyInstance, store: Store): void {
  const trusted = new Map<string, { key: ApiKeyInfo; until: number }>();
  const check = async (token: string): Promise<ApiKeyInfo | null> => {
    const now = Date.now();
    const hit = trusted.get(token);
    if (hit && hit.until > now) return hit.key;
    const key = await verifyApiKey(store, token);
    if (!key) {
      trusted.delete(token);
      return null;
    }
    if (trusted.size >= KEY_CACHE_SIZE) trusted.clear();
    trusted.set(token, { key, until: now + KEY_TRUST_MS });
    return key;
  };
  app.decorateRequest('apiKey', null);
  app.addHook('onRequest', async (req) => {
    const access = req.routeOptions.config?.access ?? 'read';
    if (access === 'public') return;
    const token = bearer(req);
    if (token === null)
      throw new ApiError(401, 'unauthorized', 'an API key is required: Authorization: Bearer <key>');
    const key = await check(token);
    if (!key)
      throw new ApiError(401, 'unauthorized', 'the API key is not valid (unknown, revoked or mistyped)');
    req.apiKey = key;
    if (access === 'admin' && key.scope !== 'admin')
      throw new ApiError(403, 'forbidden', 'this route needs a key with the admin scope');
  });
}
