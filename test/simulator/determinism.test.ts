import { describe, expect, it } from 'vitest';
import type { CleverSimulator } from 'rostersync/simulator';
import { get, walk, withSim } from './sim-client.js';

const PATHS = [
  '/v3.0/districts',
  '/v3.1/districts',
  '/v3.0/schools',
  '/v3.0/users?limit=10000',
  '/v3.1/users?limit=10000',
  '/v3.1/users?role=contact&limit=50',
  '/v3.0/sections?limit=10000',
  '/v3.1/sections?limit=37',
  '/v3.0/terms',
  '/v3.0/courses',
];

async function pages(sim: CleverSimulator, extra: string[] = []): Promise<string[]> {
  const out: string[] = [];
  for (const p of [...PATHS, ...extra]) out.push((await get(sim, p, sim.token)).text);
  return out;
}

describe('determinism', () => {
  it('two servers with the same seed serve byte-identical pages', async () => {
    const opts = { students: 240, seed: 42, contactsPerStudent: 1.4 };
    await withSim(opts, (a) =>
      withSim(opts, async (b) => {
        expect(a.token).toBe(b.token);
        expect(a.districts).toEqual(b.districts);
        expect(await pages(a)).toEqual(await pages(b));
      }),
    );
  });

  it('a different seed serves different data with different ids', async () => {
    await withSim({ students: 100, seed: 1 }, (a) =>
      withSim({ students: 100, seed: 2 }, async (b) => {
        expect(a.token).not.toBe(b.token);
        const ia = (await walk(a, '/v3.0/users?limit=10000', a.token)).items.map((u) => u.id);
        const ib = new Set((await walk(b, '/v3.0/users?limit=10000', b.token)).items.map((u) => u.id));
        expect(ia.some((id) => ib.has(id))).toBe(false);
      }),
    );
  });

  it('change days are deterministic: same DayRecords, same pages and events after them', async () => {
    const opts = { students: 260, seed: 7 };
    await withSim(opts, (a) =>
      withSim(opts, async (b) => {
        for (const kind of ['normal', 'normal', 'rollover', 'normal', 'bad_sharing'] as const) {
          expect(a.advance(1, kind)).toEqual(b.advance(1, kind));
        }
        const events = [
          '/v3.0/events?limit=10000',
          '/v3.1/events?limit=333',
          '/v3.0/events?ending_before=last&limit=5',
        ];
        expect(await pages(a, events)).toEqual(await pages(b, events));
        expect(a.truth()).toEqual(b.truth());
      }),
    );
  });

  it('the token is fixed by the option, district ids and tokens are distinct across districts', async () => {
    await withSim({ students: 50, districts: 3, token: 'fixed-token-for-tests' }, async (sim) => {
      expect(sim.token).toBe('fixed-token-for-tests');
      expect(sim.districts[0]!.token).toBe('fixed-token-for-tests');
      expect(new Set(sim.districts.map((d) => d.token)).size).toBe(3);
      expect(new Set(sim.districts.map((d) => d.id)).size).toBe(3);
      const ids = new Set<string>();
      for (const d of sim.districts) {
        for (const coll of ['users', 'sections', 'schools', 'terms', 'courses']) {
          for (const it of (await walk(sim, `/v3.0/${coll}?limit=10000`, d.token)).items) {
            expect(ids.has(it.id)).toBe(false);
            ids.add(it.id);
          }
        }
      }
    });
  });
});
