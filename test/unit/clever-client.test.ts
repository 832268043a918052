import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { CleverClient } from '../../src/sources/clever/http/clever-client.js';
import { guessNextLink } from '../../src/sources/clever/decode/clever-list.js';

type Handler = (req: IncomingMessage, res: ServerResponse, n: number) => void;

let server: Server | null = null;
async function serve(handler: Handler): Promise<string> {
  let n = 0;
  server = createServer((req, res) => handler(req, res, ++n));
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}
afterEach(async () => {
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  server = null;
});

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(text);
}

const page = (ids: string[], next: string | null) => ({
  data: ids.map((id) => ({ data: { id }, uri: `/v3.0/things/${id}` })),
  links: [{ rel: 'self', uri: '/v3.0/things' }, ...(next ? [{ rel: 'next', uri: next }] : [])],
});

function client(url: string, extra: Partial<ConstructorParameters<typeof CleverClient>[0]> = {}) {
  const waits: number[] = [];
  const c = new CleverClient({
    baseUrl: url,
    token: 'secret-token',
    apiVersion: 'v3.0',
    retryBaseMs: 1,
    maxRetries: 4,
    sleep: (ms) => {
      waits.push(ms);
      return Promise.resolve();
    },
    random: () => 0.5,
    ...extra,
  });
  return { c, waits };
}

describe('Clever client', () => {
  it('follows relative next links, sends the bearer token and the version', async () => {
    const seen: string[] = [];
    const url = await serve((req, res) => {
      seen.push(`${req.headers.authorization} ${req.url}`);
      if (req.url?.includes('starting_after=b')) return json(res, 200, page(['c'], null));
      return json(res, 200, page(['a', 'b'], '/v3.0/things?limit=2&starting_after=b'));
    });
    const { c } = client(url);
    const ids: string[] = [];
    for await (const p of c.walk('/things', { limit: 2 })) ids.push(...p.items.map((i) => i.id as string));
    expect(ids).toEqual(['a', 'b', 'c']);
    expect(seen).toEqual([
      'Bearer secret-token /v3.0/things?limit=2',
      'Bearer secret-token /v3.0/things?limit=2&starting_after=b',
    ]);
    await c.close();
  });

  it('retries 5xx, resets and truncated bodies, then succeeds', async () => {
    const url = await serve((req, res, n) => {
      if (n === 1) return json(res, 503, { message: 'down' });
      if (n === 2) return req.socket.destroy();
      if (n === 3) {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
        res.write('{"data": [');
        return res.socket?.destroy();
      }
      if (n === 4) {
        res.writeHead(200, { 'content-type': 'application/json' });
        return res.end('{"data": [');
      }
      return json(res, 200, page(['x'], null));
    });
    const { c, waits } = client(url);
    const p = await c.listPage('/things');
    expect(p.items).toEqual([{ id: 'x' }]);
    expect(c.stats).toMatchObject({ requests: 5, retries: 4 });
    expect(waits).toHaveLength(4);
    await c.close();
  });

  it('waits for X-Ratelimit-Reset on 429', async () => {
    const now = 1_000_000_000_000;
    const url = await serve((_req, res, n) => {
      if (n === 1)
        return json(
          res,
          429,
          { message: 'slow down' },
          { 'x-ratelimit-reset': String(now / 1000 + 7), 'x-ratelimit-remaining': '0' },
        );
      return json(res, 200, page(['x'], null));
    });
    const { c, waits } = client(url, { now: () => now });
    await c.listPage('/things');
    expect(c.stats.rateLimited).toBe(1);
    // 7 s until the window resets (plus up to 250 ms of jitter), not an exponential guess.
    expect(waits.some((w) => w >= 7000 && w <= 7250)).toBe(true);
    await c.close();
  });

  it('fails at once on 401 with an auth error that does not contain the token', async () => {
    let calls = 0;
    const url = await serve((_req, res) => {
      calls++;
      json(res, 401, { message: 'invalid token' });
    });
    const { c } = client(url);
    const err = (await c.listPage('/things').catch((e: unknown) => e)) as Error & { code: string };
    expect(err).toMatchObject({ code: 'auth' });
    expect(err.message).toMatch(/token was rejected/);
    expect(err.message).not.toContain('secret-token');
    expect(calls).toBe(1);
    await c.close();
  });

  it('does not retry 400, 404, 413 or 501', async () => {
    for (const [status, code] of [
      [400, 'bad_response'],
      [404, 'not_found'],
      [413, 'bad_response'],
      [501, 'bad_response'],
    ] as const) {
      let calls = 0;
      const url = await serve((_req, res) => {
        calls++;
        json(res, status, { message: 'no' });
      });
      const { c } = client(url);
      await expect(c.listPage('/things')).rejects.toMatchObject({ code });
      expect(calls).toBe(1);
      await c.close();
      await new Promise<void>((r) => server!.close(() => r()));
      server = null;
    }
  });

  it('gives up after the retry budget with an upstream error', async () => {
    const url = await serve((_req, res) => json(res, 502, { message: 'bad gateway' }));
    const { c } = client(url, { maxRetries: 2 });
    await expect(c.listPage('/things')).rejects.toMatchObject({
      code: 'upstream',
      message: expect.stringMatching(/HTTP 502/),
    });
    expect(c.stats.requests).toBe(3);
    await c.close();
  });

  it('stops retrying when it is closed: a request in its backoff ends at once as cancelled', async () => {
    let hits = 0;
    const url = await serve((_req, res) => {
      hits++;
      json(res, 503, { error: 'down' });
    });
    // A backoff that never ends on its own: only close() can end this request.
    const { c } = client(url, { maxRetries: 8, sleep: () => new Promise<void>(() => undefined) });
    const pending = c.getJson('/things').then(
      () => null,
      (err: unknown) => err,
    );
    for (let i = 0; i < 200 && hits === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(hits).toBe(1);
    await c.close();
    const err = (await pending) as { code?: string; message?: string } | null;
    expect(err?.code).toBe('cancelled');
    expect(err?.message).not.toContain('secret-token');
    expect(hits).toBe(1);
  }, 20_000);

  it('walks with a body decoder: pages in order ahead of the caller, retries and failures, early stop', async () => {
    const hits: string[] = [];
    const url = await serve((req, res) => {
      hits.push(req.url ?? '');
      const after = /starting_after=(\d+)/.exec(req.url ?? '')?.[1];
      const n = after === undefined ? 0 : Number(after) + 1;
      if (n === 2 && hits.filter((h) => h.includes('starting_after=1')).length === 1) {
        res.writeHead(200, { 'content-type': 'application/json' });
        return res.end('{"data": [{"da'); // cut off: decoded as not-JSON, retried
      }
      if (n === 4 && req.url?.includes('broken')) return json(res, 200, { nope: true });
      return json(res, 200, page([String(n)], n < 5 ? `/v3.0/things?limit=1&starting_after=${n}` : null));
    });
    const { c } = client(url);
    const decode = (bytes: Uint8Array) => {
      try {
        const body = JSON.parse(new TextDecoder().decode(bytes)) as ReturnType<typeof page>;
        if (!Array.isArray(body.data))
          return Promise.resolve({ ok: false as const, retry: false, message: 'no data' });
        const next = body.links.find((l) => l.rel === 'next')?.uri ?? null;
        return Promise.resolve({ ok: true as const, value: { id: body.data[0]!.data.id, next } });
      } catch {
        return Promise.resolve({ ok: false as const, retry: true, message: 'not JSON' });
      }
    };
    const ids: string[] = [];
    for await (const p of c.walkDecoded('/things', { limit: 1 }, decode)) ids.push(p.id);
    expect(ids).toEqual(['0', '1', '2', '3', '4', '5']);
    expect(c.stats.retries).toBe(1);
    // Each page was requested once (the next link read from a body's tail was right), plus the retry.
    expect(hits).toHaveLength(7);

    // A caller that stops early gets no more pages and nothing is left failing behind it.
    const first: string[] = [];
    for await (const p of c.walkDecoded('/things', { limit: 1 }, decode)) {
      first.push(p.id);
      if (first.length === 2) break;
    }
    expect(first).toEqual(['0', '1']);

    // A body with the wrong shape (here: the page of item 4) fails the walk with a bad_response
    // naming the path; the pages before it were delivered.
    const seenBefore: string[] = [];
    const failOnFour = async (b: Uint8Array) => {
      const r = await decode(b);
      return r.ok && r.value.id === '4' ? { ok: false as const, retry: false, message: 'no data' } : r;
    };
    await expect(
      (async () => {
        for await (const p of c.walkDecoded('/things', { limit: 1, startingAfter: '2' }, failOnFour))
          seenBefore.push(p.id);
      })(),
    ).rejects.toMatchObject({ code: 'bad_response', message: expect.stringContaining('/v3.0/things') });
    expect(seenBefore).toEqual(['3']);
  });

  it('reads the next link from the tail of a body, and follows the decoded one when they differ', async () => {
    expect(
      guessNextLink(new TextEncoder().encode(JSON.stringify(page(['1'], '/v3.0/x?starting_after=1')))),
    ).toBe('/v3.0/x?starting_after=1');
    expect(guessNextLink(new TextEncoder().encode(JSON.stringify(page(['1'], null))))).toBeNull();
    expect(guessNextLink(new TextEncoder().encode('{"data": [{"da'))).toBeNull();
    expect(
      guessNextLink(
        new TextEncoder().encode('{"links":[],"data":[{"data":{"links":[{"rel":"next","uri":"/a"}]}}]}'),
      ),
    ).toBeNull();

    const hits: string[] = [];
    const url = await serve((req, res) => {
      hits.push(req.url ?? '');
      const n = Number(/starting_after=(\d+)/.exec(req.url ?? '')?.[1] ?? -1) + 1;
      return json(res, 200, page([String(n)], n < 6 ? `/v3.0/things?limit=1&starting_after=${n}` : null));
    });
    const { c } = client(url);
    // This decoder skips every odd page: the links in the bodies (and so the guesses) are wrong.
    const decode = (bytes: Uint8Array) => {
      const body = JSON.parse(new TextDecoder().decode(bytes)) as ReturnType<typeof page>;
      const id = Number(body.data[0]!.data.id);
      const next = id < 5 ? `/v3.0/things?limit=1&starting_after=${id + 1}` : null;
      return Promise.resolve({ ok: true as const, value: { id: String(id), next } });
    };
    const ids: string[] = [];
    for await (const p of c.walkDecoded('/things', { limit: 1 }, decode)) ids.push(p.id);
    expect(ids).toEqual(['0', '2', '4', '6']);
    // The pages the bodies pointed to (items 1, 3 and 5) were requested too, and dropped.
    await new Promise((r) => setTimeout(r, 50));
    expect(hits.map((h) => /starting_after=(\d+)/.exec(h)?.[1] ?? 'first').sort()).toEqual(
      ['0', '1', '2', '3', '4', '5', 'first'].sort(),
    );
    await c.close();
  });

  it('rejects a page without the list envelope', async () => {
    const url = await serve((_req, res) => json(res, 200, { items: [] }));
    const { c } = client(url);
    await expect(c.listPage('/things')).rejects.toMatchObject({
      code: 'bad_response',
      message: expect.stringMatching(/no "data" list/),
    });
    await c.close();
  });
});
