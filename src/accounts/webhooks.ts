import { createHmac, timingSafeEqual } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import type { Dispatcher } from 'undici';
import type { AccountChange } from '../model/account.js';
import type { Logger } from '../shared/logger.js';
import type { SecretBox } from '../store/secrets.js';
import type { Store } from '../store/store.js';

/**
 * Webhooks: every account change is POSTed, one change per request, to each enabled endpoint, in
 * feed order. A change counts as delivered when the receiver answers 2xx; until then the endpoint's
 * cursor does not move, so later changes wait (in order per account, and in fact overall) and the
 * same change is retried with exponential backoff: at least once, never out of order.
 *
 * Signature: `X-Rostersync-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>` with
 * `X-Rostersync-Timestamp: <unix seconds>`; receivers check it with {@link verifyWebhookSignature}.
 */

export const SIGNATURE_HEADER = 'x-rostersync-signature';
export const TIMESTAMP_HEADER = 'x-rostersync-timestamp';

export function signWebhook(secret: string, timestamp: number, body: string): string {
  return `v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/**
 * Checks a delivery: the signature matches and the timestamp is within `toleranceSeconds`
 * (default 300) of `nowSeconds`, which stops replays of old deliveries.
 */
export function verifyWebhookSignature(
  secret: string,
  opts: {
    signature: string | undefined;
    timestamp: string | undefined;
    body: string;
    nowSeconds?: number;
    toleranceSeconds?: number;
  },
): boolean {
  const ts = Number(opts.timestamp);
  if (!opts.signature || !Number.isInteger(ts)) return false;
  const now = opts.nowSeconds ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - ts) > (opts.toleranceSeconds ?? 300)) return false;
  const expected = Buffer.from(signWebhook(secret, ts, opts.body));
  const given = Buffer.from(opts.signature);
  return expected.length === given.length && timingSafeEqual(expected, given);
}

export interface DeliveryOptions {
  store: Store;
  box: SecretBox;
  logger?: Logger;
  dispatcher?: Dispatcher;
  /** Changes read per endpoint per round. Default 100. */
  batch?: number;
  /** First retry delay, ms (doubles per failure, capped at one hour). Default 1000. */
  retryBaseMs?: number;
  /** Per-request timeout, ms. Default 10000. */
  timeoutMs?: number;
  now?: () => Date;
}

export interface DeliveryRound {
  delivered: number;
  failed: number;
  /** True when every endpoint is caught up with the feed. */
  idle: boolean;
}

/** One pass over every endpoint: delivers what is due, stops an endpoint at its first failure. */
export async function deliverWebhooks(opts: DeliveryOptions): Promise<DeliveryRound> {
  const now = opts.now ?? (() => new Date());
  const round: DeliveryRound = { delivered: 0, failed: 0, idle: true };
  const last = await opts.store.changeFeed.lastSeq();
  for (const ep of await opts.store.webhooks.list()) {
    if (!ep.enabled) continue;
    if (ep.cursor < last) round.idle = false;
    if (ep.nextAttemptAt && Date.parse(ep.nextAttemptAt) > now().getTime()) continue;
    const secret = await opts.store.webhooks.secret(ep.id, opts.box);
    const changes = await opts.store.changeFeed.after(ep.cursor, { limit: opts.batch ?? 100 });
    let attempts = ep.attempts;
    for (const change of changes) {
      const error = await post(ep.url, secret, change, opts);
      if (error === null) {
        await opts.store.webhooks.acknowledge(ep.id, change.seq);
        attempts = 0;
        round.delivered++;
        continue;
      }
      attempts++;
      round.failed++;
      const delay = Math.min(3_600_000, (opts.retryBaseMs ?? 1000) * 2 ** (attempts - 1));
      await opts.store.webhooks.failed(
        ep.id,
        attempts,
        new Date(now().getTime() + delay).toISOString(),
        error,
      );
      opts.logger?.warn(
        { endpoint: ep.id, seq: change.seq, attempts, retryInMs: delay, error },
        'webhook delivery failed',
      );
      break;
    }
  }
  return round;
}

async function post(
  url: string,
  secret: string,
  change: AccountChange,
  opts: DeliveryOptions,
): Promise<string | null> {
  const body = JSON.stringify(change);
  const ts = Math.floor((opts.now ?? (() => new Date()))().getTime() / 1000);
  try {
    const res = await request(url, {
      method: 'POST',
      body,
      headers: {
        'content-type': 'application/json',
        [TIMESTAMP_HEADER]: String(ts),
        [SIGNATURE_HEADER]: signWebhook(secret, ts, body),
        'x-rostersync-delivery': `${change.seq}`,
      },
      headersTimeout: opts.timeoutMs ?? 10_000,
      bodyTimeout: opts.timeoutMs ?? 10_000,
      ...(opts.dispatcher ? { dispatcher: opts.dispatcher } : {}),
    });
    await res.body.dump();
    return res.statusCode >= 200 && res.statusCode < 300 ? null : `HTTP ${res.statusCode}`;
  } catch (err) {
    return (err as { code?: string; message?: string }).code ?? (err as Error).message;
  }
}

/**
 * Delivers while there is progress to make, until every endpoint is caught up, every one behind is
 * in backoff, or `deadlineMs` passes.
 */
export async function deliverUntilIdle(
  opts: DeliveryOptions & { deadlineMs: number; pollMs?: number },
): Promise<DeliveryRound> {
  const total: DeliveryRound = { delivered: 0, failed: 0, idle: false };
  const end = Date.now() + opts.deadlineMs;
  for (;;) {
    const r = await deliverWebhooks(opts);
    total.delivered += r.delivered;
    total.failed += r.failed;
    // Nothing deliverable right now: caught up, or every endpoint behind is waiting out its backoff
    // (the delivery loop, `webhooks deliver --watch`, or the next run retries it).
    if (r.delivered === 0 && r.failed === 0) {
      total.idle = await allCaughtUp(opts.store);
      return total;
    }
    if (Date.now() >= end) return total;
    await sleep(opts.pollMs ?? 200);
  }
}

async function allCaughtUp(store: Store): Promise<boolean> {
  const last = await store.changeFeed.lastSeq();
  return (await store.webhooks.list()).every((e) => !e.enabled || e.cursor >= last);
}
