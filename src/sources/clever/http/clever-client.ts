import { setTimeout as sleep } from 'node:timers/promises';
import PQueue from 'p-queue';
import { Agent, request } from 'undici';
import type { Dispatcher } from 'undici';
import { RostersyncError } from '../../../shared/errors.js';
import { decodeListBody, guessNextLink, readListEnvelope } from '../decode/clever-list.js';
import type { CleverListPage } from '../decode/clever-list.js';
import type { Logger } from '../../../shared/logger.js';

export type CleverApiVersion = 'v3.0' | 'v3.1';

export interface CleverClientOptions {
  /** API host, e.g. `https://api.clever.com` (no version). */
  baseUrl: string;
  token: string;
  apiVersion: CleverApiVersion;
  /** Our request budget per minute for this token (Clever allows 1200). Default 1000. */
  requestsPerMinute?: number;
  /** Requests in flight. Default 4. */
  concurrency?: number;
  /** Per-request timeout for headers and for the body, ms. Default 60000. */
  timeoutMs?: number;
  /** Retries per request after the first attempt. Default 8. */
  maxRetries?: number;
  /** First backoff step, ms; doubles per retry with full jitter, capped at 30 s. Default 500. */
  retryBaseMs?: number;
  /**
   * Time budget for one request's retries, ms from its first attempt: no retry starts once it would
   * begin past the budget. Default none (only `maxRetries` bounds them).
   */
  maxRetryTimeMs?: number;
  /** Longest wait for a 429 to reset, ms; Clever's window is one minute. Default 65000. */
  maxRateLimitWaitMs?: number;
  logger?: Logger;
  /** Share one dispatcher (keep-alive pool) between clients; default: a private Agent. */
  dispatcher?: Dispatcher;
  /** Injected clock and sleep for tests. */
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  /** Deterministic jitter for tests; default Math.random. */
  random?: () => number;
}

export interface CleverClientStats {
  requests: number;
  retries: number;
  rateLimited: number;
}

/** Pages a decoded walk fetches ahead of its caller. */
const LOOK_AHEAD = 2;

/** Statuses that a retry can fix. Everything else 4xx (400, 401, 403, 404, 413, 501…) is final. */
const RETRYABLE_STATUS = new Set([429, 500, 502, 503, 504]);

/** Wraps what a body decoder threw, so that it is passed on as it is rather than retried. */
class DecoderFailed extends Error {
  constructor(readonly error: unknown) {
    super('clever page decoder failed');
  }
}

/**
 * A small Clever Data API client: keep-alive connections, a per-token limiter that stays under the
 * 1200 requests/minute window and slows down when `X-Ratelimit-Remaining` runs low, retries with
 * jittered exponential backoff (429: until `X-Ratelimit-Reset`), and typed errors:
 * `auth` (401/403), `not_found` (404), `bad_response` (400/413/501, unreadable bodies after retries),
 * `rate_limited` and `upstream` (retries exhausted). The token never appears in errors or logs.
 *
 * Above ~400 lines because the limiter, the retry loop and the look-ahead page walk share one
 * request path: a page fetched ahead is still rate-limited and retried, and splitting them would
 * spread that one path over files that each see only part of a request's fate.
 */
export class CleverClient {
  readonly stats: CleverClientStats = { requests: 0, retries: 0, rateLimited: 0 };
  private readonly queue: PQueue;
  private readonly dispatcher: Dispatcher;
  private readonly ownsDispatcher: boolean;
  private readonly opts: Required<Omit<CleverClientOptions, 'logger' | 'dispatcher' | 'maxRetryTimeMs'>> & {
    logger?: Logger;
    maxRetryTimeMs?: number;
  };
  /** Set when the server says the window is nearly spent: no request starts before this time. */
  private pausedUntil = 0;
  /**
   * Aborted by `close()`. A page fetched ahead may still be in its retry loop when the run stops;
   * without this it would keep retrying against a closed connection pool (and keep the process
   * alive through its backoff) long after nobody wants the page.
   */
  private readonly closing = new AbortController();

  constructor(options: CleverClientOptions) {
    this.opts = {
      requestsPerMinute: 1000,
      concurrency: 4,
      timeoutMs: 60_000,
      maxRetries: 8,
      retryBaseMs: 500,
      maxRateLimitWaitMs: 65_000,
      now: Date.now,
      sleep: (ms) => sleep(ms),
      random: Math.random,
      ...options,
      baseUrl: options.baseUrl.replace(/\/+$/, ''),
    };
    this.queue = new PQueue({
      concurrency: this.opts.concurrency,
      intervalCap: this.opts.requestsPerMinute,
      interval: 60_000,
    });
    this.ownsDispatcher = !options.dispatcher;
    this.dispatcher =
      options.dispatcher ??
      new Agent({
        keepAliveTimeout: 30_000,
        connections: this.opts.concurrency * 2,
        headersTimeout: this.opts.timeoutMs,
        bodyTimeout: this.opts.timeoutMs,
      });
  }

  get apiVersion(): CleverApiVersion {
    return this.opts.apiVersion;
  }

  /** `/users?role=student` → `/v3.0/users?role=student` (paths already versioned are kept). */
  path(p: string): string {
    return /^\/v\d/.test(p) ? p : `/${this.opts.apiVersion}${p.startsWith('/') ? p : `/${p}`}`;
  }

  /** GETs a JSON document (path relative to the host, e.g. a `links.next` uri). */
  async getJson(path: string): Promise<unknown> {
    return this.queue.add<unknown>(() => this.withRetries(this.path(path)));
  }

  /** One page of a list endpoint. */
  async listPage(path: string): Promise<CleverListPage> {
    const body = await this.getJson(path);
    return parseListPage(body, path);
  }

  /**
   * Walks a list endpoint from its first page, following `links.next`, yielding one page at a time
   * (fetched ahead of the caller, see {@link walkDecoded}).
   */
  walk(path: string, opts: { limit: number; startingAfter?: string | null }): AsyncGenerator<CleverListPage> {
    return this.walkDecoded(path, opts, (bytes) => Promise.resolve(decodeListBody(bytes)));
  }

  /**
   * Walks a list endpoint, handing each page's body to `decode` as bytes (to be parsed elsewhere, e.g.
   * in a worker thread). A body `decode` cannot parse is retried like any cut-off response; one
   * with the wrong shape fails the walk.
   */
  async *walkDecoded<T extends { next: string | null }>(
    path: string,
    opts: { limit: number; startingAfter?: string | null },
    decode: BodyDecoder<T>,
  ): AsyncGenerator<T> {
    const sep = path.includes('?') ? '&' : '?';
    let first = `${path}${sep}limit=${opts.limit}`;
    if (opts.startingAfter) first += `&starting_after=${encodeURIComponent(opts.startingAfter)}`;
    // Pages are fetched and decoded ahead of the caller, up to LOOK_AHEAD pages. A page's next link
    // is only certain once the page is decoded, but Clever writes `links` after `data`: read from
    // the last bytes of the body, it lets the following page be requested while this one decodes.
    // The decoded link decides; a page requested on a wrong guess is dropped.
    type Request = { path: string; page: Promise<T>; guess: Promise<string | null> };
    const start = (p: string): Request => {
      let guessed: (g: string | null) => void = () => undefined;
      const guess = new Promise<string | null>((r) => (guessed = r));
      const page = this.queue.add<T>(
        () =>
          this.withRetries(this.path(p), (bytes) => {
            const g = guessNextLink(bytes);
            if (g !== null) guessed(g);
            return decode(bytes);
          }) as Promise<T>,
      );
      page.then(
        () => guessed(null),
        () => guessed(null),
      );
      return { path: p, page, guess };
    };
    const buffer: T[] = [];
    let finished = false;
    let stopped = false;
    let failure: { error: unknown } | null = null;
    let wake: (() => void) | null = null;
    let room: (() => void) | null = null;
    const signal = (which: 'wake' | 'room') => {
      const f = which === 'wake' ? wake : room;
      if (which === 'wake') wake = null;
      else room = null;
      f?.();
    };
    const spec: { ahead: Request | null } = { ahead: null };
    const drop = (r: Request | null) => void r?.page.catch(() => undefined);
    const producer = (async () => {
      let current: Request | null = start(first);
      try {
        while (current && !stopped) {
          while (buffer.length >= LOOK_AHEAD && !stopped) await new Promise<void>((r) => (room = r));
          if (stopped) break;
          // Only while the caller is waiting for pages (the buffer is empty): a caller that is the
          // slower side gains nothing from it, and the extra page in flight costs memory.
          const speculate = current.guess.then((g) => {
            if (g !== null && !stopped && buffer.length === 0) spec.ahead = start(g);
          });
          const page: T = await current.page;
          await speculate;
          buffer.push(page);
          signal('wake');
          const ahead: Request | null = spec.ahead;
          spec.ahead = null;
          if (page.next === null) current = null;
          else if (ahead?.path === page.next) current = ahead;
          else {
            drop(ahead);
            current = start(page.next);
          }
          if (current === null) drop(ahead);
        }
      } catch (error) {
        failure = { error };
      } finally {
        // Requests nobody will read (a stopped walk, a failure) end on their own, unobserved.
        if (current !== null) drop(current);
        drop(spec.ahead);
        finished = true;
        signal('wake');
      }
    })();
    try {
      for (;;) {
        while (buffer.length === 0 && !finished) await new Promise<void>((r) => (wake = r));
        const page = buffer.shift();
        if (page !== undefined) {
          signal('room');
          yield page;
          continue;
        }
        if (failure) throw (failure as { error: unknown }).error;
        return;
      }
    } finally {
      // A caller that stops early does not wait for a request in flight; it ends on its own.
      stopped = true;
      signal('room');
      void producer;
    }
  }

  async close(): Promise<void> {
    this.closing.abort();
    this.queue.clear();
    if (this.ownsDispatcher) await this.dispatcher.close();
  }

  private async withRetries(path: string, decode?: BodyDecoder<unknown>): Promise<unknown> {
    const url = this.opts.baseUrl + path;
    let attempt = 0;
    const firstAttemptAt = this.opts.now();
    for (;;) {
      const wait = this.pausedUntil - this.opts.now();
      if (wait > 0) await this.sleepUnlessClosed(wait);
      if (this.closing.signal.aborted) throw clientClosed(path);
      this.stats.requests++;
      let outcome: Outcome;
      try {
        outcome = await this.once(url, decode);
      } catch (err) {
        // The decoder's own failure (its worker, or the store it reads) is not Clever's: no retry.
        if (err instanceof DecoderFailed) throw err.error;
        if (this.closing.signal.aborted) throw clientClosed(path);
        outcome = { kind: 'retry', error: classifyNetworkError(err, path), waitMs: null };
      }
      if (outcome.kind === 'ok') return outcome.body;
      if (outcome.kind === 'fail') throw outcome.error;
      if (attempt >= this.opts.maxRetries) throw outcome.error;
      attempt++;
      this.stats.retries++;
      const backoff = Math.min(30_000, this.opts.retryBaseMs * 2 ** (attempt - 1));
      const jittered = backoff / 2 + this.opts.random() * (backoff / 2);
      const waitMs = outcome.waitMs !== null ? outcome.waitMs + this.opts.random() * 250 : jittered;
      const budget = this.opts.maxRetryTimeMs;
      if (budget !== undefined && this.opts.now() - firstAttemptAt + waitMs > budget)
        throw retryBudgetSpent(outcome.error, this.opts.now() - firstAttemptAt, budget);
      this.opts.logger?.warn(
        {
          path: stripQuery(path),
          attempt,
          waitMs: Math.round(waitMs),
          code: outcome.error.code,
          reason: outcome.error.message,
        },
        'clever request failed; retrying',
      );
      await this.sleepUnlessClosed(waitMs);
    }
  }

  /** Waits `ms`, or less when the client is closed meanwhile. */
  private async sleepUnlessClosed(ms: number): Promise<void> {
    const closing = this.closing.signal;
    if (closing.aborted) return;
    let onAbort: (() => void) | undefined;
    const closed = new Promise<void>((resolve) => {
      onAbort = resolve;
      closing.addEventListener('abort', onAbort, { once: true });
    });
    try {
      await Promise.race([this.opts.sleep(ms), closed]);
    } finally {
      closing.removeEventListener('abort', onAbort!);
    }
  }

  private async once(url: string, decode?: BodyDecoder<unknown>): Promise<Outcome> {
    const res = await request(url, {
      method: 'GET',
      dispatcher: this.dispatcher,
      headers: { authorization: `Bearer ${this.opts.token}`, accept: 'application/json' },
      headersTimeout: this.opts.timeoutMs,
      bodyTimeout: this.opts.timeoutMs,
    });
    this.readRateHeaders(res.headers);
    const path = stripQuery(new URL(url).pathname);
    if (decode && res.statusCode >= 200 && res.statusCode < 300) {
      const bytes = new Uint8Array(await res.body.arrayBuffer());
      let r: Awaited<ReturnType<BodyDecoder<unknown>>>;
      try {
        r = await decode(bytes);
      } catch (err) {
        throw new DecoderFailed(err);
      }
      if (r.ok) return { kind: 'ok', body: r.value };
      const error = new RostersyncError('bad_response', `clever ${path}: ${r.message}`);
      return r.retry ? { kind: 'retry', error, waitMs: null } : { kind: 'fail', error };
    }
    const text = await res.body.text();
    if (res.statusCode >= 200 && res.statusCode < 300) {
      try {
        return { kind: 'ok', body: JSON.parse(text) as unknown };
      } catch {
        // A cut-off body (dropped connection, proxy hiccup) parses as broken JSON: try again.
        return {
          kind: 'retry',
          error: new RostersyncError(
            'bad_response',
            `clever ${path}: response body is not valid JSON (${text.length} bytes)`,
          ),
          waitMs: null,
        };
      }
    }
    const message = errorBodyMessage(text);
    if (res.statusCode === 429) {
      this.stats.rateLimited++;
      const reset = resetAt(res.headers);
      const waitMs =
        reset !== null
          ? Math.min(this.opts.maxRateLimitWaitMs, Math.max(0, reset - this.opts.now()))
          : 60_000;
      this.pausedUntil = Math.max(this.pausedUntil, this.opts.now() + waitMs);
      return {
        kind: 'retry',
        error: new RostersyncError(
          'rate_limited',
          `clever ${path}: rate limited (429) past the retry budget`,
        ),
        waitMs,
      };
    }
    if (RETRYABLE_STATUS.has(res.statusCode)) {
      return {
        kind: 'retry',
        error: new RostersyncError(
          'upstream',
          `clever ${path}: HTTP ${res.statusCode}${message ? ` (${message})` : ''}`,
        ),
        waitMs: null,
      };
    }
    if (res.statusCode === 401 || res.statusCode === 403) {
      return {
        kind: 'fail',
        error: new RostersyncError(
          'auth',
          `clever ${path}: the district token was rejected (HTTP ${res.statusCode}${message ? `: ${message}` : ''}); check that it is current and not revoked`,
        ),
      };
    }
    if (res.statusCode === 404) {
      return { kind: 'fail', error: new RostersyncError('not_found', `clever ${path}: not found (404)`) };
    }
    return {
      kind: 'fail',
      error: new RostersyncError(
        'bad_response',
        `clever ${path}: HTTP ${res.statusCode}${message ? ` (${message})` : ''}`,
      ),
    };
  }

  /** Pauses new requests until the window resets when the server says it is nearly spent. */
  private readRateHeaders(headers: Record<string, string | string[] | undefined>): void {
    const remaining = firstNumber(headers['x-ratelimit-remaining']);
    if (remaining === null || remaining > this.opts.concurrency) return;
    const reset = resetAt(headers);
    if (reset !== null)
      this.pausedUntil = Math.max(
        this.pausedUntil,
        Math.min(reset, this.opts.now() + this.opts.maxRateLimitWaitMs),
      );
  }
}

/** Parses a page body given as bytes; `retry` marks a body that may parse on a second try. */
export type BodyDecoder<T> = (
  bytes: Uint8Array,
) => Promise<{ ok: true; value: T } | { ok: false; retry: boolean; message: string }>;

type Outcome =
  | { kind: 'ok'; body: unknown }
  | { kind: 'retry'; error: RostersyncError; waitMs: number | null }
  | { kind: 'fail'; error: RostersyncError };

function stripQuery(path: string): string {
  const i = path.indexOf('?');
  return i < 0 ? path : path.slice(0, i);
}

/** Clever has sent comma-separated multi-bucket values (`"200, 1200"`); take the smallest. */
function firstNumber(v: string | string[] | undefined): number | null {
  if (v === undefined) return null;
  const parts = (Array.isArray(v) ? v.join(',') : v).split(',').map((s) => Number(s.trim()));
  const nums = parts.filter((n) => Number.isFinite(n));
  return nums.length > 0 ? Math.min(...nums) : null;
}

/** `X-Ratelimit-Reset` (Unix seconds) as epoch ms. */
function resetAt(headers: Record<string, string | string[] | undefined>): number | null {
  const v = firstNumber(headers['x-ratelimit-reset']);
  return v === null ? null : v * 1000;
}

/** Clever error bodies are `{message}` (older: `{error}`), sometimes HTML; keep it short and safe. */
function errorBodyMessage(text: string): string {
  try {
    const body = JSON.parse(text) as { message?: unknown; error?: unknown };
    const m = body.message ?? body.error;
    if (typeof m === 'string') return m.slice(0, 200);
  } catch {
    // not JSON
  }
  return text.trim().startsWith('<') ? 'HTML body' : text.trim().slice(0, 120);
}

/** The last failure, saying that the retry budget (not the retry count) ended it. */
function retryBudgetSpent(last: RostersyncError, spentMs: number, budgetMs: number): RostersyncError {
  return new RostersyncError(
    last.code,
    `${last.message}; gave up after ${(spentMs / 1000).toFixed(1)} s of retries (retry budget ${budgetMs / 1000} s: --max-retry-time or clever.maxRetryTimeMs)`,
    { cause: last },
  );
}

/** A request of a client that was closed: the run that wanted it has stopped; not Clever's fault. */
function clientClosed(path: string): RostersyncError {
  return new RostersyncError('cancelled', `clever ${stripQuery(path)}: the client was closed`);
}

function classifyNetworkError(err: unknown, path: string): RostersyncError {
  const e = err as { code?: string; message?: string };
  const what = e.code ?? e.message ?? 'network error';
  return new RostersyncError('upstream', `clever ${stripQuery(path)}: ${what}`, { cause: err });
}

/** Validates the list envelope `{data: [{data, uri}], links: [{rel, uri}]}`. */
export function parseListPage(body: unknown, path: string): CleverListPage {
  const page = readListEnvelope(body);
  if (typeof page === 'string')
    throw new RostersyncError('bad_response', `clever ${stripQuery(path)}: ${page}`);
  return page;
}
