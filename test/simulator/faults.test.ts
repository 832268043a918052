import { request } from 'node:http';
import { describe, expect, it } from 'vitest';
import type { CleverSimulator, FaultKind } from 'rostersync/simulator';
import { ALL_FAULT_KINDS } from 'rostersync/simulator';
import { withSim } from './sim-client.js';

interface Outcome {
  kind: string;
  status?: number;
  headers?: Record<string, string | string[] | undefined>;
  received?: number;
  announced?: number;
}

/** One GET on a fresh connection, classified: status code, 'reset' or 'truncated'. */
function raw(sim: CleverSimulator, path: string, token: string | null = sim.token): Promise<Outcome> {
  return new Promise((resolve) => {
    const headers: Record<string, string> = token ? { Authorization: `Bearer ${token}` } : {};
    const req = request(`${sim.url}${path}`, { agent: false, headers }, (res) => {
      const announced = Number(res.headers['content-length']);
      let received = 0;
      let done = false;
      const finish = (kind: string): void => {
        if (done) return;
        done = true;
        resolve({ kind, status: res.statusCode ?? 0, headers: res.headers, received, announced });
      };
      res.on('data', (c: Buffer) => (received += c.length));
      res.on('end', () => finish(received === announced ? String(res.statusCode) : 'truncated'));
      res.on('aborted', () => finish('truncated'));
      res.on('error', () => finish('truncated'));
      res.on('close', () => finish(received === announced ? String(res.statusCode) : 'truncated'));
    });
    req.on('error', () => resolve({ kind: 'reset' }));
    req.end();
  });
}

async function sequence(sim: CleverSimulator, n: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push((await raw(sim, `/v3.0/users?limit=3`)).kind);
  return out;
}

describe('fault injection', () => {
  it('each kind is observed as documented', async () => {
    let clock = 1_000_000_000_000;
    await withSim({ students: 40, now: () => clock }, async (sim) => {
      expect((await raw(sim, '/v3.0/users')).kind).toBe('200');
      for (const kind of ALL_FAULT_KINDS) {
        sim.setFaults({ rate: 1, kinds: [kind], slowMs: 20 });
        const o = await raw(sim, '/v3.0/users?limit=50');
        switch (kind) {
          case '500':
          case '502':
          case '503':
            expect(o.kind).toBe(kind);
            expect(o.headers?.['x-ratelimit-limit']).toBe('1000000');
            break;
          case '429': {
            expect(o.kind).toBe('429');
            expect(o.headers?.['x-ratelimit-remaining']).toBe('0');
            // The burst resets a second or two ahead on the injected clock.
            const reset = Number(o.headers?.['x-ratelimit-reset']);
            expect(reset).toBeGreaterThanOrEqual(clock / 1000 + 1);
            expect(reset).toBeLessThanOrEqual(clock / 1000 + 2);
            break;
          }
          case 'reset':
            expect(o.kind).toBe('reset');
            break;
          case 'truncated':
            expect(o.kind).toBe('truncated');
            expect(o.received).toBeGreaterThan(0);
            expect(o.received).toBeLessThan(o.announced!);
            break;
          case 'slow':
            // A slow answer is still a full, correct answer.
            expect(o.kind).toBe('200');
            break;
        }
        clock += 5_000;
      }
      sim.setFaults(null);
      expect((await raw(sim, '/v3.0/users')).kind).toBe('200');
    });
  });

  it('is deterministic by (fault seed, request sequence number), restarting at setFaults', async () => {
    const kinds: FaultKind[] = ['500', '502', '503', 'reset', 'truncated'];
    await withSim({ students: 40 }, (a) =>
      withSim({ students: 40 }, async (b) => {
        a.setFaults({ rate: 0.3, kinds, seed: 9 });
        b.setFaults({ rate: 0.3, kinds, seed: 9 });
        const sa = await sequence(a, 40);
        const sb = await sequence(b, 40);
        expect(sa).toEqual(sb);
        const faulted = sa.filter((k) => k !== '200');
        expect(faulted.length).toBeGreaterThan(3);
        expect(faulted.length).toBeLessThan(30);
        a.setFaults({ rate: 0.3, kinds, seed: 9 });
        expect(await sequence(a, 40)).toEqual(sa);
        a.setFaults({ rate: 0.3, kinds, seed: 10 });
        expect(await sequence(a, 40)).not.toEqual(sa);
      }),
    );
  });

  it('429 bursts: a few consecutive 429s, over once the clock passes the reset', async () => {
    let clock = 2_000_000_000_000;
    await withSim({ students: 40, now: () => clock }, async (sim) => {
      sim.setFaults({ rate: 0.15, kinds: ['429'], seed: 3 });
      const seen = await sequence(sim, 60);
      const runs = seen
        .join(' ')
        .split(/\b200\b/)
        .map((r) => r.trim().split(/\s+/).filter(Boolean).length);
      expect(Math.max(...runs)).toBeGreaterThanOrEqual(2);
      expect(Math.max(...runs)).toBeLessThanOrEqual(10);
      // Clock past the burst: a retry that waited for X-Ratelimit-Reset succeeds (unless a new fault draws).
      sim.setFaults({ rate: 1, kinds: ['429'], seed: 3 });
      const first = await raw(sim, '/v3.0/users');
      expect(first.kind).toBe('429');
      clock = Number(first.headers?.['x-ratelimit-reset']) * 1000;
      sim.setFaults(null);
      expect((await raw(sim, '/v3.0/users')).kind).toBe('200');
    });
  });

  it('control endpoints and OAuth are never faulted; faults can be set over HTTP and at start', async () => {
    await withSim({ students: 40, faults: { rate: 1, kinds: ['503'] } }, async (sim) => {
      expect((await raw(sim, '/v3.0/districts')).kind).toBe('503');
      expect((await raw(sim, '/__sim/truth', null)).kind).toBe('200');
      const basic = `Basic ${Buffer.from(`${sim.clientId}:${sim.clientSecret}`).toString('base64')}`;
      const tokens = await fetch(`${sim.url}/oauth/tokens?owner_type=district`, {
        headers: { Authorization: basic },
      });
      expect(tokens.status).toBe(200);
      const page = await fetch(
        `${sim.url}/oauth/authorize?response_type=code&client_id=${sim.clientId}&redirect_uri=${encodeURIComponent('http://localhost/cb')}`,
      );
      expect(page.status).toBe(200);
      const off = await fetch(`${sim.url}/__sim/faults`, { method: 'POST', body: 'null' });
      expect(off.status).toBe(200);
      expect((await raw(sim, '/v3.0/districts')).kind).toBe('200');
      const on = await fetch(`${sim.url}/__sim/faults`, {
        method: 'POST',
        body: JSON.stringify({ rate: 1, kinds: ['502'] }),
      });
      expect(on.status).toBe(200);
      expect((await raw(sim, '/v3.0/districts')).kind).toBe('502');
      const bad = await fetch(`${sim.url}/__sim/faults`, {
        method: 'POST',
        body: JSON.stringify({ rate: 2 }),
      });
      expect(bad.status).toBe(400);
    });
  });

  it('the fault rate is roughly the configured share of data requests', async () => {
    await withSim({ students: 20, faults: { rate: 0.25, kinds: ['500'], seed: 4 } }, async (sim) => {
      const seen = await sequence(sim, 200);
      const n = seen.filter((k) => k === '500').length;
      expect(n).toBeGreaterThan(25);
      expect(n).toBeLessThan(80);
    });
  });
});
