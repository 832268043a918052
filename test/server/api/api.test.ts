import { afterAll, beforeAll, expect, it } from 'vitest';
import type { IdentityType } from '../../../src/model/account.js';
import { IDENTITY_TYPES } from '../../../src/model/account.js';
import type { Entity } from '../../../src/model/entities.js';
import { startCleverSimulator } from '../../../src/simulator/index.js';
import type { CleverSimulator } from '../../../src/simulator/index.js';
import type { StoredAccount } from '../../../src/model/stored-account.js';
import { Store } from '../../../src/store/store.js';
import { describeEachDatabase } from '../../helpers/databases.js';
import { syncSim } from '../../helpers/sync.js';
import { startApi } from './api-helpers.js';
import type { ApiServer } from './api-helpers.js';

type Page = { items: Array<Record<string, unknown> & { id: string }>; next: string | null };

describeEachDatabase('REST API over a simulator sync', (dbs) => {
  let sim: CleverSimulator;
  let store: Store;
  let api: ApiServer;
  let district: string;

  beforeAll(async () => {
    sim = await startCleverSimulator({ seed: 20, students: 300, contactsPerStudent: 0.5 });
    district = sim.districts[0]!.id;
    store = await Store.open({ location: await dbs.fresh() });
    expect((await syncSim(store, sim)).status).toBe('succeeded');
    api = await startApi(store);
  }, 120_000);
  afterAll(async () => {
    await api?.close();
    await store?.close();
    await sim?.close();
  });

  /** Every page of a list, following `next`; fails on a repeated id. */
  async function all(path: string, limit: number): Promise<string[]> {
    const ids: string[] = [];
    let after: string | null = null;
    for (let pages = 0; pages < 10_000; pages++) {
      const sep = path.includes('?') ? '&' : '?';
      const r = await api.call(
        'GET',
        `${path}${sep}limit=${limit}${after !== null ? `&after=${encodeURIComponent(after)}` : ''}`,
      );
      expect(r.status, r.text).toBe(200);
      const page = r.body as Page;
      expect(page.items.length).toBeLessThanOrEqual(limit);
      ids.push(...page.items.map((i) => i.id));
      if (page.next === null) break;
      after = page.next;
    }
    expect(new Set(ids).size).toBe(ids.length);
    return ids;
  }

  it('pages through every roster list completely and stably', async () => {
    for (const entity of ['schools', 'students', 'staff', 'contacts', 'sections'] as const) {
      const stored = (await store.records.list({ district }, entity as Entity, { limit: 100_000 })).map(
        (r) => r.sourceId,
      );
      expect(stored.length, entity).toBeGreaterThan(0);
      const paged = await all(`/api/v1/districts/${district}/${entity}`, 37);
      expect(paged.slice().sort()).toEqual(stored.slice().sort());
      // The same pages again, in the same order.
      expect(await all(`/api/v1/districts/${district}/${entity}`, 37)).toEqual(paged);
    }
    const counts = await store.accounts.countsByKind(district);
    const total = Object.values(counts).reduce((n, c) => n + c.active + c.inactive, 0);
    expect(await all(`/api/v1/accounts?district=${district}`, 101)).toHaveLength(total);
  });

  it('filters the roster by school and finds records by name and identifier', async () => {
    const school = (await store.records.list({ district }, 'schools', { limit: 1 }))[0]!;
    const students = await store.records.list({ district }, 'students', { limit: 100_000 });
    const atSchool = students
      .filter((s) => s.data.schoolIds.includes(school.sourceId))
      .map((s) => s.sourceId);
    expect(atSchool.length).toBeGreaterThan(0);
    expect(
      (await all(`/api/v1/districts/${district}/students?school=${school.sourceId}`, 50)).sort(),
    ).toEqual(atSchool.sort());
    const sections = await store.records.list({ district }, 'sections', { limit: 100_000 });
    expect(
      (await all(`/api/v1/districts/${district}/sections?school=${school.sourceId}`, 50)).sort(),
    ).toEqual(
      sections
        .filter((s) => s.data.schoolId === school.sourceId)
        .map((s) => s.sourceId)
        .sort(),
    );
    const s = students.find(
      (x) => x.data.sisId && x.data.studentNumber && x.data.username && x.data.name.last,
    )!;
    const find = async (q: string) =>
      all(`/api/v1/districts/${district}/students?q=${encodeURIComponent(q)}`, 500);
    for (const q of [s.sourceId, s.data.sisId!, s.data.studentNumber!, s.data.username!]) {
      expect(await find(q), q).toEqual([s.sourceId]);
    }
    expect(await find(`${s.data.name.first ?? ''} ${s.data.name.last!}`)).toContain(s.sourceId);
    const one = await api.call('GET', `/api/v1/districts/${district}/students/${s.sourceId}`);
    expect(one.status).toBe(200);
    expect(one.body).toMatchObject({ id: s.sourceId, sisId: s.data.sisId, name: s.data.name });
    // What the student route is not for is not sent (though the store holds it).
    expect(s.data.dob).toBeDefined();
    for (const field of ['dob', 'demographics', 'location', 'ext'])
      expect(one.body).not.toHaveProperty(field);
    const page = (await api.call('GET', `/api/v1/districts/${district}/students?limit=500`)).body as Page;
    expect(page.items.some((i) => 'dob' in i || 'demographics' in i)).toBe(false);
    const section = sections[0]!;
    const shown = await api.call('GET', `/api/v1/districts/${district}/sections/${section.sourceId}`);
    expect(shown.body).toMatchObject({
      studentIds: section.data.studentIds,
      studentCount: section.data.studentIds.length,
    });
    expect((await api.call('GET', `/api/v1/districts/${district}/students/nope`)).status).toBe(404);
    expect((await api.call('GET', `/api/v1/districts/nope/students`)).status).toBe(404);
  });

  it('finds accounts by every identifier kind, by name and email; shows one in full', async () => {
    const accounts: StoredAccount[] = await store.accounts.list({ district, limit: 100_000 });
    const lookup = async (query: string) => {
      const r = await api.call('GET', `/api/v1/accounts?district=${district}&${query}`);
      expect(r.status, r.text).toBe(200);
      return (r.body as Page).items.map((i) => i.id);
    };
    const found = new Set<IdentityType>();
    for (const type of IDENTITY_TYPES) {
      const a = accounts.find((x) => x.identities.some((i) => i.type === type));
      if (!a) continue;
      found.add(type);
      const value = a.identities.find((i) => i.type === type)!.value;
      expect(await lookup(`identifier=${encodeURIComponent(value)}`), type).toContain(a.id);
      expect(await lookup(`identifier=${encodeURIComponent(value)}&identifierType=${type}`)).toContain(a.id);
    }
    // The simulator's people carry these kinds; each was looked up above.
    for (const t of ['clever_id', 'email', 'sis_id', 'student_number', 'state_id', 'teacher_number'] as const)
      expect(found.has(t), t).toBe(true);
    const student = accounts.find((a) => a.kind === 'student' && a.email && a.name.last)!;
    expect(await lookup(`identifier=${student.id}&identifierType=account_id`)).toEqual([student.id]);
    expect(await lookup(`identifier=${student.recordSourceId!}&identifierType=record_id`)).toEqual([
      student.id,
    ]);
    const record = (await store.rosterSearch.get('students', district, student.recordSourceId!))!;
    expect(
      await lookup(`identifier=${encodeURIComponent(record.data.username!)}&identifierType=username`),
    ).toEqual([student.id]);
    expect(await lookup(`q=${encodeURIComponent(student.email!.toUpperCase())}`)).toContain(student.id);
    expect(
      await lookup(`q=${encodeURIComponent(`${student.name.first ?? ''} ${student.name.last!}`)}`),
    ).toContain(student.id);
    expect(await lookup('identifier=no-such-identifier')).toEqual([]);

    const shown = await api.call('GET', `/api/v1/accounts/${student.id}`);
    expect(shown.status).toBe(200);
    const body = shown.body as {
      account: { id: string; identities: unknown[] };
      history: Array<{ kind: string; accountId: string }>;
      overrides: unknown[];
    };
    expect(body.account.identities).toEqual(student.identities);
    expect(body.history.map((h) => h.kind)).toContain('created');
    expect(body.history.every((h) => h.accountId === student.id)).toBe(true);
    expect(body.account).not.toHaveProperty('stateHash');
    const history = await api.call('GET', `/api/v1/accounts/${student.id}/history?limit=1`);
    expect((history.body as { items: unknown[] }).items).toHaveLength(1);
    expect((await api.call('GET', '/api/v1/accounts/nope')).status).toBe(404);
  });

  it('reads the change feed in the order of `rostersync changes`', async () => {
    const expected = (await store.changeFeed.after(0, { limit: 100_000 })).map((c) => c.seq);
    const seen: number[] = [];
    let after = 0;
    for (;;) {
      const r = await api.call('GET', `/api/v1/changes?after=${after}&limit=250`);
      expect(r.status).toBe(200);
      const body = r.body as { items: Array<{ seq: number }>; next: number };
      if (body.items.length === 0) {
        expect(body.next).toBe(after);
        break;
      }
      seen.push(...body.items.map((c) => c.seq));
      after = body.next;
    }
    expect(seen).toEqual(expected);
    expect((await api.call('GET', '/api/v1/changes?limit=5001')).status).toBe(400);
  });

  it('validates settings changes, naming the field, and saves a valid one', async () => {
    const patch = (body: unknown, key = api.adminKey) =>
      api.call('PATCH', `/api/v1/districts/${district}/settings`, { key, body });
    const bad = await patch({ settings: { safetyValve: { maxPercent: 500 } } });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({
      code: 'invalid_settings',
      details: { issues: [expect.objectContaining({ field: 'settings.safetyValve.maxPercent' })] },
    });
    expect((await patch({ settings: { studentKey: 'shoe_size' } })).body).toMatchObject({
      code: 'invalid_settings',
      details: { issues: [expect.objectContaining({ field: 'settings.studentKey' })] },
    });
    expect((await patch({ settings: { noSuchSetting: true } })).status).toBe(400);
    expect((await patch({ schedule: { cron: 'every tuesday' } })).body).toMatchObject({
      code: 'invalid_settings',
      details: { issues: [expect.objectContaining({ field: 'schedule' })] },
    });
    expect((await patch({ schedule: { cron: '0 3 * * *' }, extra: 1 })).body).toMatchObject({
      code: 'invalid_request',
      details: { issues: [{ field: 'body.extra', message: 'unknown field' }] },
    });
    expect((await store.districts.get(district))!.config.safetyValve.maxPercent).toBe(5);
    expect((await patch({ settings: { safetyValve: { maxPercent: 12 } } }, api.readKey)).status).toBe(403);

    const ok = await patch({
      settings: { safetyValve: { maxPercent: 12 }, contractedGrades: null },
      schedule: { cron: '15 2 * * *', timezone: 'America/Chicago' },
    });
    expect(ok.status, ok.text).toBe(200);
    expect(ok.body).toMatchObject({
      settings: { safetyValve: { maxPercent: 12, minCount: 10 } },
      schedule: { cron: '15 2 * * *', timezone: 'America/Chicago' },
    });
    expect((await store.districts.get(district))!.config.safetyValve).toEqual({
      maxPercent: 12,
      minCount: 10,
    });
    // Back to the defaults for the held-run test below.
    expect(
      (
        await patch({
          settings: { safetyValve: { maxPercent: 5 } },
          schedule: { cron: null, timezone: null },
        })
      ).status,
    ).toBe(200);
  });

  it('asks for a run now and shows the request', async () => {
    const r = await api.call('POST', `/api/v1/districts/${district}/runs`, { key: api.adminKey });
    expect(r.status).toBe(202);
    const req = r.body as { id: string; state: string };
    expect(req.state).toBe('queued');
    expect((await api.call('GET', `/api/v1/run-requests/${req.id}`)).body).toMatchObject({
      id: req.id,
      state: 'queued',
    });
    expect((await api.call('POST', `/api/v1/districts/nope/runs`, { key: api.adminKey })).status).toBe(404);
  });

  it('rejects and approves a held run (a bad-sharing day)', async () => {
    sim.advance(1, 'bad_sharing');
    const held1 = await syncSim(store, sim);
    expect(held1.status).toBe('held');
    const listed = await api.call('GET', `/api/v1/runs?district=${district}&status=held`);
    expect((listed.body as { items: Array<{ id: string }> }).items.map((r) => r.id)).toEqual([held1.runId]);
    const shown = await api.call('GET', `/api/v1/runs/${held1.runId}`);
    expect(shown.body).toMatchObject({
      id: held1.runId,
      status: 'held',
      counts: { accounts: { held: held1.accounts.held } },
    });
    expect(
      Object.values((shown.body as { pendingArchives: Record<string, number> }).pendingArchives).some(
        (n) => n > 0,
      ),
    ).toBe(true);

    expect((await api.call('POST', `/api/v1/runs/${held1.runId}/reject`)).status).toBe(403);
    const rejected = await api.call('POST', `/api/v1/runs/${held1.runId}/reject`, { key: api.adminKey });
    expect(rejected.status, rejected.text).toBe(200);
    expect(rejected.body).toMatchObject({ status: 'rejected', resolution: 'rejected' });
    const again = await api.call('POST', `/api/v1/runs/${held1.runId}/approve`, { key: api.adminKey });
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ code: 'conflict' });

    const held2 = await syncSim(store, sim);
    expect(held2.status).toBe('held');
    const activeBefore = (await store.accounts.countsByKind(district)).student.active;
    const approved = await api.call('POST', `/api/v1/runs/${held2.runId}/approve`, { key: api.adminKey });
    expect(approved.status, approved.text).toBe(200);
    expect(approved.body).toMatchObject({ status: 'succeeded', resolution: 'approved' });
    expect((await store.accounts.countsByKind(district)).student.active).toBeLessThan(activeBefore);

    // Runs page newest first, continuing with `before`.
    const first = await api.call('GET', `/api/v1/runs?district=${district}&limit=1`);
    const next = (first.body as { next: string }).next;
    const second = await api.call(
      'GET',
      `/api/v1/runs?district=${district}&limit=1&before=${encodeURIComponent(next)}`,
    );
    expect((first.body as Page).items[0]!.id).toBe(held2.runId);
    expect((second.body as Page).items[0]!.id).toBe(held1.runId);
  });

  it('downloads a run’s problems as CSV', async () => {
    const run = (await store.runs.list({ district, limit: 1 }))[0]!;
    await store.runs.addProblems(run.id, [
      {
        severity: 'warning',
        entity: 'students',
        recordId: 'r1',
        field: 'email',
        reason: 'has, a comma "and" quotes',
      },
      { severity: 'error', entity: 'sections', recordId: null, field: null, reason: '=cmd()' },
    ]);
    const r = await api.call('GET', `/api/v1/runs/${run.id}/problems.csv`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/text\/csv/);
    const lines = r.text.trimEnd().split('\r\n');
    expect(lines[0]).toBe('severity,entity,record_id,field,reason');
    expect(lines).toContain('warning,students,r1,email,"has, a comma ""and"" quotes"');
    expect(lines).toContain("error,sections,,,'=cmd()");
    expect((await api.call('GET', '/api/v1/runs/nope/problems.csv')).status).toBe(404);
  });
});
