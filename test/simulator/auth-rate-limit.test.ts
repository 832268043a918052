import { describe, expect, it } from 'vitest';
import { startCleverSimulator } from 'rostersync/simulator';
import { get, walk, withSim } from './sim-client.js';
import type { ErrorBody } from './sim-client.js';

interface TokenRow {
  id: string;
  created: string;
  owner: { type: string; id: string };
  access_token: string;
  scopes: string[];
}

interface TokenList {
  data: TokenRow[];
  links: Array<{ rel: string; uri: string }>;
}

describe('authentication and district isolation', () => {
  it('401 {message} without a token or with a wrong one', async () => {
    await withSim({ students: 40 }, async (sim) => {
      for (const token of [null, 'wrong', '']) {
        const r = await get<ErrorBody>(sim, '/v3.0/users', token);
        expect(r.status).toBe(401);
        expect(Object.keys(r.body)).toEqual(['message']);
        expect(r.headers.get('x-ratelimit-limit')).toBe('1000000');
      }
      const basic = await fetch(`${sim.url}/v3.0/users`, {
        headers: { Authorization: `Basic ${sim.token}` },
      });
      expect(basic.status).toBe(401);
      expect((await get(sim, '/v3.0/users', sim.token)).status).toBe(200);
    });
  });

  it('a district token sees only its own district', async () => {
    await withSim({ students: 60, districts: 2 }, async (sim) => {
      const [a, b] = sim.districts as [(typeof sim.districts)[0], (typeof sim.districts)[0]];
      const da = await get(sim, '/v3.0/districts', a.token);
      expect(da.body.data.map((d) => d.data.id)).toEqual([a.id]);
      expect((await get(sim, `/v3.0/districts/${b.id}`, a.token)).status).toBe(404);
      const usersA = (await walk(sim, '/v3.0/users?limit=10000', a.token)).items;
      const usersB = (await walk(sim, '/v3.0/users?limit=10000', b.token)).items;
      expect(usersA.every((u) => u.district === a.id)).toBe(true);
      expect(usersB.every((u) => u.district === b.id)).toBe(true);
      for (const u of usersB.slice(0, 20))
        expect((await get(sim, `/v3.0/users/${u.id}`, a.token)).status).toBe(404);
      const secB = (await get(sim, '/v3.0/sections?limit=1', b.token)).body.data[0]!.data.id;
      expect((await get(sim, `/v3.0/sections/${secB}`, a.token)).status).toBe(404);
      // A cursor from the other district is not a cursor here.
      expect((await get(sim, `/v3.0/users?starting_after=${usersB[0]!.id}`, a.token)).status).toBe(400);
      // Change days are per district.
      sim.advance(1, 'normal', 1);
      expect((await get(sim, '/v3.0/events', a.token)).body.data).toEqual([]);
      expect((await get(sim, '/v3.0/events', b.token)).body.data.length).toBeGreaterThan(0);
    });
  });

  it('/oauth/tokens lists every district token for the app credentials', async () => {
    await withSim({ students: 20, districts: 3 }, async (sim) => {
      const basic = `Basic ${Buffer.from(`${sim.clientId}:${sim.clientSecret}`).toString('base64')}`;
      const res = await fetch(`${sim.url}/oauth/tokens?owner_type=district`, {
        headers: { Authorization: basic },
      });
      expect(res.status).toBe(200);
      const body = (await res.json()) as TokenList;
      expect(body.data.map((d) => d.access_token)).toEqual(sim.districts.map((d) => d.token));
      expect(body.data.map((d) => d.owner)).toEqual(
        sim.districts.map((d) => ({ type: 'district', id: d.id })),
      );
      for (const d of body.data) {
        expect(d.id).toMatch(/^[0-9a-f]{24}$/);
        expect(typeof d.created).toBe('string');
        expect(Array.isArray(d.scopes)).toBe(true);
      }
      expect(body.links).toEqual([{ rel: 'self', uri: '/oauth/tokens?owner_type=district' }]);
      const one = await fetch(`${sim.url}/oauth/tokens?district=${sim.districts[1]!.id}`, {
        headers: { Authorization: basic },
      });
      expect(((await one.json()) as TokenList).data.map((d) => d.access_token)).toEqual([
        sim.districts[1]!.token,
      ]);
      const wrong = `Basic ${Buffer.from(`${sim.clientId}:nope`).toString('base64')}`;
      const denied = await fetch(`${sim.url}/oauth/tokens?owner_type=district`, {
        headers: { Authorization: wrong },
      });
      expect(denied.status).toBe(401);
      expect(((await denied.json()) as { error: string }).error).toBe('invalid_client');
      expect((await fetch(`${sim.url}/oauth/tokens?owner_type=district`)).status).toBe(401);
    });
  });
});

describe('rate limit', () => {
  it('fixed window per token: headers on every response, 429 past the limit, reset after the window', async () => {
    let clock = Math.floor(1_700_000_000_000 / 60_000) * 60_000; // at the start of a 60 s window
    const sim = await startCleverSimulator({
      students: 30,
      districts: 2,
      rateLimit: { limit: 5, windowMs: 60_000 },
      now: () => clock,
    });
    try {
      const resetSecs = String((clock + 60_000) / 1000);
      for (let i = 1; i <= 5; i++) {
        const r = await get(sim, i % 2 ? '/v3.0/users?limit=1' : '/v3.0/nothing-here', sim.token);
        expect(r.status).toBe(i % 2 ? 200 : 404);
        expect(r.headers.get('x-ratelimit-limit')).toBe('5');
        expect(r.headers.get('x-ratelimit-remaining')).toBe(String(5 - i));
        expect(r.headers.get('x-ratelimit-reset')).toBe(resetSecs);
      }
      clock += 30_000;
      const over = await get<ErrorBody>(sim, '/v3.0/users?limit=1', sim.token);
      expect(over.status).toBe(429);
      expect(Object.keys(over.body)).toEqual(['message']);
      expect(over.headers.get('x-ratelimit-remaining')).toBe('0');
      expect(over.headers.get('x-ratelimit-reset')).toBe(resetSecs);
      // Another token has its own window.
      expect((await get(sim, '/v3.0/users?limit=1', sim.districts[1]!.token)).status).toBe(200);
      clock += 30_000;
      const fresh = await get(sim, '/v3.0/users?limit=1', sim.token);
      expect(fresh.status).toBe(200);
      expect(fresh.headers.get('x-ratelimit-remaining')).toBe('4');
      expect(fresh.headers.get('x-ratelimit-reset')).toBe(String((clock + 60_000) / 1000));
    } finally {
      await sim.close();
    }
  });

  it('defaults to 1200 requests per minute', async () => {
    const sim = await startCleverSimulator({ students: 10 });
    try {
      const r = await get(sim, '/v3.0/districts', sim.token);
      expect(r.headers.get('x-ratelimit-limit')).toBe('1200');
      expect(r.headers.get('x-ratelimit-remaining')).toBe('1199');
      expect(Number(r.headers.get('x-ratelimit-reset'))).toBeGreaterThan(Date.now() / 1000 - 1);
      expect(sim.requestCount()).toBe(1);
    } finally {
      await sim.close();
    }
  });
});
