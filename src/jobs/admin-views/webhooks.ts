import type { Admin } from '../../store/queries/admins.js';
import type { WebhookEndpoint } from '../../store/queries/webhooks.js';
import type { Store } from '../../store/store.js';
import { randomBytes, randomUUID } from 'node:crypto';
import type { SecretBox } from '../../store/secrets.js';
import { RostersyncError } from '../../shared/errors.js';
import { notFound } from './access.js';

/** Adds a webhook for the account change feed from now on; returns its signing secret (shown once). */
export async function addWebhook(
  store: Store,
  admin: Admin,
  url: string,
  box: () => SecretBox,
): Promise<string> {
  await webhooksPage(store, admin);
  if (!/^https?:\/\/\S+$/.test(url))
    throw new RostersyncError('input', 'The address must start with https:// or http://.');
  const secret = randomBytes(24).toString('base64url');
  await store.webhooks.add(
    { id: randomUUID(), url, secret, cursor: await store.changeFeed.lastSeq() },
    box(),
  );
  return secret;
}

export async function removeWebhook(store: Store, admin: Admin, id: string): Promise<void> {
  await webhooksPage(store, admin);
  if (!(await store.webhooks.remove(id))) throw notFound(`webhook ${id}`);
}

export function webhooksPage(store: Store, admin: Admin): Promise<WebhookEndpoint[]> {
  if (admin.district !== null) throw new RostersyncError('auth', 'only vendor admins manage webhooks');
  return store.webhooks.list();
}
