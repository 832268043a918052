import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { RostersyncError } from '../shared/errors.js';
import type { ApiKeyRow, ApiKeyScope } from '../store/queries/api-keys.js';
import type { Store } from '../store/store.js';

/**
 * REST API keys: `rsk_<id>.<secret>`. The id (8 random bytes, hex) is public and finds the key's row;
 * the secret (32 random bytes, base64url) is shown once and stored only as its SHA-256.
 */
const KEY_PATTERN = /^rsk_([0-9a-f]{16})\.([A-Za-z0-9_-]{43})$/;

/** How stale `last used` may get before a request writes it again (ms): one write a minute per key. */
const TOUCH_EVERY_MS = 60_000;

function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

/** A key as listed: never its secret or hash. */
export type ApiKeyInfo = Omit<ApiKeyRow, 'secretHash'>;

function info(k: ApiKeyRow): ApiKeyInfo {
  return {
    id: k.id,
    name: k.name,
    scope: k.scope,
    createdAt: k.createdAt,
    lastUsedAt: k.lastUsedAt,
    revokedAt: k.revokedAt,
  };
}

/** Creates a key; `token` is the only copy of the whole key there will ever be. */
export async function createApiKey(
  store: Store,
  opts: { name: string; scope: ApiKeyScope },
): Promise<{ key: ApiKeyInfo; token: string }> {
  const name = opts.name.trim();
  if (name === '' || name.length > 200)
    throw new RostersyncError('input', 'a key name is 1 to 200 characters');
  const id = randomBytes(8).toString('hex');
  const secret = randomBytes(32).toString('base64url');
  const row = await store.apiKeys.insert({ id, name, scope: opts.scope, secretHash: hashSecret(secret) });
  return { key: info(row), token: `rsk_${id}.${secret}` };
}

export async function listApiKeys(store: Store): Promise<ApiKeyInfo[]> {
  return (await store.apiKeys.list()).map(info);
}

/** Revokes a key by id: requests with it are refused from then on. */
export async function revokeApiKey(store: Store, id: string): Promise<void> {
  const key = await store.apiKeys.get(id);
  if (!key) throw new RostersyncError('not_found', `API key ${id} does not exist`);
  if (!(await store.apiKeys.revoke(id)))
    throw new RostersyncError('conflict', `API key ${id} is revoked already`);
}

/**
 * The key a bearer token names, when it is a key of ours, not revoked, and its secret matches;
 * null otherwise (which of these failed is not said: a caller learns nothing from trying).
 */
export async function verifyApiKey(
  store: Store,
  token: string,
  now = Date.now(),
): Promise<ApiKeyInfo | null> {
  const m = KEY_PATTERN.exec(token);
  if (!m) return null;
  const key = await store.apiKeys.get(m[1]!);
  if (!key || key.revokedAt !== null) return null;
  const given = Buffer.from(hashSecret(m[2]!), 'hex');
  const stored = Buffer.from(key.secretHash, 'hex');
  if (given.length !== stored.length || !timingSafeEqual(given, stored)) return null;
  if (key.lastUsedAt === null || now - Date.parse(key.lastUsedAt) > TOUCH_EVERY_MS) {
    await store.apiKeys.touch(key.id);
  }
  return info(key);
}
