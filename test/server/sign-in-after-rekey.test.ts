import { createRemoteJWKSet, jwtVerify } from 'jose';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ServiceMetrics } from '../../src/jobs/service-metrics.js';
import { silentLogger } from '../../src/shared/logger.js';
import { startCleverSimulator } from '../../src/simulator/index.js';
import type { CleverSimulator } from '../../src/simulator/index.js';
import { SecretBox } from '../../src/store/secrets.js';
import { Store } from '../../src/store/store.js';
import { serve, signIn } from '../helpers/clever-sign-in.js';
import type { Served } from '../helpers/clever-sign-in.js';
import { describeEachDatabase } from '../helpers/databases.js';
import { syncSim } from '../helpers/sync.js';

const APP_URL = 'http://app.example.test/landing';

describeEachDatabase('Clever sign-in after Clever gave people new ids', (dbs) => {
  let sim: CleverSimulator;
  let store: Store;
  let s: Served;

  beforeAll(async () => {
    sim = await startCleverSimulator({ seed: 41, students: 1000 });
    store = await Store.open({ location: await dbs.fresh() });
    expect((await syncSim(store, sim, { district: 'd1' })).status).toBe('succeeded');
    s = await serve(
      store,
      sim,
      new ServiceMetrics(),
      silentLogger(),
      APP_URL,
      SecretBox.fromString(SecretBox.generateKey()),
    );
  }, 120_000);
  afterAll(async () => {
    await s?.app.close();
    await store?.close();
    await sim?.close();
  });

  it('a re-keyed student and teacher sign in by their new Clever ids onto the accounts they had', async () => {
    // Who each person's account is before the re-key, by their Clever id then.
    const accountOf = async (cleverId: string) =>
      (await store.accounts.bySignInIdentity('d1', 'clever_id', cleverId)).map((a) => a.id);
    const [day] = sim.advance(1, 'rekey');
    const student = day!.rekeyed.find((r) => r.roles.includes('student'))!;
    const teacher = day!.rekeyed.find((r) => r.roles.includes('teacher'))!;
    expect(student).toBeDefined();
    expect(teacher).toBeDefined();
    const before = { student: await accountOf(student.from), teacher: await accountOf(teacher.from) };
    expect(before.student).toHaveLength(1);
    expect(before.teacher).toHaveLength(1);

    const report = await syncSim(store, sim, { district: 'd1' });
    expect(report.status).toBe('succeeded');
    expect(report.accounts.deactivated).toBe(0);
    expect(report.accounts.rekeyed).toBe(day!.rekeyed.length);

    const jwks = createRemoteJWKSet(new URL(`${s.base}/.well-known/jwks.json`));
    for (const [who, role, expected] of [
      [student, 'student', before.student[0]],
      [teacher, 'teacher', before.teacher[0]],
    ] as const) {
      const o = await signIn(s, sim, { id: who.to, role });
      expect(o.status, o.body).toBe(302);
      const assertion = new URL(o.location!).searchParams.get('assertion')!;
      const { payload } = await jwtVerify(assertion, jwks);
      expect(payload.sub).toBe(expected);
      expect(payload.clever_user_id).toBe(who.to);
    }
    // An old link (a Clever id the vendor's app stored before the re-key) still names the same account.
    expect(await accountOf(student.from)).toEqual(before.student);
  });
});
