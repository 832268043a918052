import { generateKeyPairSync } from 'node:crypto';
import { createRemoteJWKSet, errors as joseErrors, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ServiceMetrics } from '../../src/jobs/service-metrics.js';
import { districtConfigSchema } from '../../src/model/district-config.js';
import { GRADES } from '../../src/model/grade.js';
import type { StoredAccount } from '../../src/model/stored-account.js';
import { buildApp } from '../../src/server/app.js';
import { STATE_TTL_SECONDS } from '../../src/server/auth/state-cookie.js';
import { CODE_TTL_MS, startCleverSimulator } from '../../src/simulator/index.js';
import type { CleverSimulator } from '../../src/simulator/index.js';
import { SecretBox } from '../../src/store/secrets.js';
import { Store } from '../../src/store/store.js';
import { describeEachDatabase } from '../helpers/databases.js';
import { callBack, serve, signIn } from '../helpers/clever-sign-in.js';
import type { LoginOutcome, Served } from '../helpers/clever-sign-in.js';
import { accountWrite } from '../helpers/accounts.js';
import { capturedLogger } from '../helpers/log-capture.js';
import { syncSim } from '../helpers/sync.js';

/** The clock of the simulator (code expiry) and of the server (state expiry), moved by tests. */
const testClock = { now: Date.now() };

const APP_URL = 'http://app.example.test/landing';
const DISTRICT = 'north';
/** Students of these grades get no account in the test district. */
const OUTSIDE_GRADES = ['11', '12'];

function assertionOf(outcome: LoginOutcome): string {
  expect(outcome.status).toBe(302);
  const to = new URL(outcome.location!);
  expect(`${to.origin}${to.pathname}`).toBe(APP_URL);
  return to.searchParams.get('assertion')!;
}

function cleverIdOf(a: StoredAccount): string {
  return a.identities.find((i) => i.type === 'clever_id')!.value;
}

describeEachDatabase('Clever sign-in onto provisioned accounts', (dbs) => {
  let sim: CleverSimulator;
  let store: Store;
  let metrics: ServiceMetrics;
  let captured: ReturnType<typeof capturedLogger>;
  let s: Served;
  let jwks: ReturnType<typeof createRemoteJWKSet>;
  /** Everything a log must not contain: names, emails, codes, states, cookies, assertions, secrets. */
  const secrets = new Set<string>();
  /** The secretKey the generated signing key is kept with. */
  const box = SecretBox.fromString(SecretBox.generateKey());

  beforeAll(async () => {
    sim = await startCleverSimulator({ seed: 23, students: 150, districts: 3, now: () => testClock.now });
    store = await Store.open({ location: await dbs.fresh() });
    await store.districts.ensure(DISTRICT, 'North');
    await store.districts.setConfig(
      DISTRICT,
      districtConfigSchema.parse({
        contractedGrades: GRADES.filter((g) => !OUTSIDE_GRADES.includes(g)),
        provisionGuardians: true,
      }),
    );
    expect((await syncSim(store, sim, { district: DISTRICT })).status).toBe('succeeded');
    // A second district of ours; the simulator's third is not ours.
    expect((await syncSim(store, sim, { district: 'south', token: sim.districts[1]!.token })).status).toBe(
      'succeeded',
    );
    metrics = new ServiceMetrics();
    captured = capturedLogger('trace');
    s = await serve(store, sim, metrics, captured.logger, APP_URL, box, null, () => testClock.now);
    jwks = createRemoteJWKSet(new URL(`${s.base}/.well-known/jwks.json`));
    secrets.add(sim.clientSecret);
    for (const [district, entity] of [DISTRICT, 'south'].flatMap((d) =>
      (['students', 'staff', 'contacts'] as const).map((e) => [d, e] as const),
    )) {
      for (const r of await store.records.list({ district }, entity, { limit: 10_000 })) {
        const d = r.data as { name: { first?: string; last?: string }; email?: string };
        for (const v of [d.name.first, d.name.last, d.email]) if (v && v.length >= 4) secrets.add(v);
      }
    }
  }, 120_000);

  afterAll(async () => {
    await s?.app.close();
    await store?.close();
    await sim?.close();
  });

  /** Remembers what a login carried, so the log check can look for it. */
  function remember(o: LoginOutcome): LoginOutcome {
    const cb = new URL(o.callback);
    for (const k of ['code', 'state']) {
      const v = cb.searchParams.get(k);
      if (v) secrets.add(v);
    }
    if (o.cookie) secrets.add(o.cookie.split('=')[1]!);
    if (o.location) {
      const a = new URL(o.location).searchParams.get('assertion');
      if (a) secrets.add(a);
    }
    return o;
  }

  async function refusals(reason: string): Promise<number> {
    const text = await (await fetch(`${s.base}/metrics`)).text();
    const m = new RegExp(
      `^rostersync_sign_ins_total\\{outcome="refused",reason="${reason}"\\} (\\d+)$`,
      'm',
    ).exec(text);
    return m ? Number(m[1]) : 0;
  }

  /** Signs in, expects a refusal page with `reason`, counted once and logged with the code. */
  async function expectRefused(reason: string, run: () => Promise<LoginOutcome>): Promise<LoginOutcome> {
    const before = await refusals(reason);
    const logBefore = captured.text().length;
    const o = remember(await run());
    expect(o.location).toBeNull();
    expect(o.status).toBeGreaterThanOrEqual(400);
    expect(o.body).toContain(`data-reason="${reason}"`);
    expect(await refusals(reason)).toBe(before + 1);
    expect(captured.text().slice(logBefore)).toContain(`"reason":"${reason}"`);
    return o;
  }

  async function account(kind: 'student' | 'staff' | 'guardian', pick = 0): Promise<StoredAccount> {
    const list = await store.accounts.list({ district: DISTRICT, kind, status: 'active' });
    const withClever = list.filter((a) => a.identities.some((i) => i.type === 'clever_id'));
    expect(withClever.length).toBeGreaterThan(pick);
    return withClever[pick]!;
  }

  it('a student signs in: the assertion verifies against the JWKS, names the account, and expires', async () => {
    const student = await account('student');
    const o = remember(await signIn(s, sim, { id: cleverIdOf(student), role: 'student' }));
    const token = assertionOf(o);
    const { payload, protectedHeader } = await jwtVerify(token, jwks, {
      issuer: new URL(s.base).origin,
      audience: new URL(APP_URL).origin,
    });
    expect(protectedHeader.alg).toBe('ES256');
    expect(payload).toMatchObject({
      sub: student.id,
      kind: 'student',
      roles: [],
      district: DISTRICT,
      clever_user_id: cleverIdOf(student),
      login_role: 'student',
    });
    expect(payload.exp! - payload.iat!).toBe(60);
    expect(typeof payload.jti).toBe('string');
    await expect(
      jwtVerify(token, jwks, { currentDate: new Date((payload.exp! + 1) * 1000) }),
    ).rejects.toBeInstanceOf(joseErrors.JWTExpired);
    const recorded = await store.signIns.get(student.id);
    expect(recorded).toMatchObject({ district: DISTRICT, signIns: 1, refusals: 0 });
    expect(recorded!.lastSignInAt).not.toBeNull();

    // A second sign-in: a fresh assertion with its own jti, and the count goes up.
    const again = assertionOf(remember(await signIn(s, sim, { id: cleverIdOf(student), role: 'student' })));
    const second = await jwtVerify(again, jwks);
    expect(second.payload.jti).not.toBe(payload.jti);
    expect((await store.signIns.get(student.id))!.signIns).toBe(2);
  });

  it('a teacher signs in through ?district= onto the staff account', async () => {
    const staffAccounts = await store.accounts.list({ district: DISTRICT, kind: 'staff', status: 'active' });
    const teacher = staffAccounts.find((a) => a.roles.length === 1 && a.roles[0] === 'teacher')!;
    expect(teacher).toBeTruthy();
    const o = remember(
      await signIn(s, sim, { id: cleverIdOf(teacher), role: 'teacher' }, { district: DISTRICT }),
    );
    const authorize = new URL(o.callback);
    expect(authorize.searchParams.get('state')).toBeTruthy();
    const { payload } = await jwtVerify(assertionOf(o), jwks);
    expect(payload).toMatchObject({
      sub: teacher.id,
      kind: 'staff',
      roles: ['teacher'],
      login_role: 'teacher',
    });
  });

  it('a multi-role user logging in as a teacher gets the staff account, not another account with the same Clever id', async () => {
    const staffAccounts = await store.accounts.list({ district: DISTRICT, kind: 'staff', status: 'active' });
    const multi = staffAccounts.find((a) => a.roles.includes('teacher') && a.roles.length > 1)!;
    expect(multi).toBeTruthy();
    const cleverId = cleverIdOf(multi);
    // The same person also holds a guardian account under the same Clever id, one that would be
    // picked first if the login's role did not choose the kind (sync origin, lowest id).
    const guardian = accountWrite('00000000-0000-7000-8000-000000000001', {
      district: DISTRICT,
      kind: 'guardian',
      recordSourceId: cleverId,
      identities: [{ type: 'clever_id', value: cleverId }],
    });
    await store.accounts.insert(guardian);
    for (const role of ['teacher', 'staff']) {
      const { payload } = await jwtVerify(
        assertionOf(remember(await signIn(s, sim, { id: cleverId, role }))),
        jwks,
      );
      expect(payload).toMatchObject({ sub: multi.id, kind: 'staff', login_role: role });
      expect([...(payload.roles as string[])].sort()).toEqual([...multi.roles].sort());
    }
    expect(await store.signIns.get(guardian.id)).toBeUndefined();
    // A contact logging in as a contact gets the guardian account.
    const contact = (
      await store.accounts.list({ district: DISTRICT, kind: 'guardian', status: 'active' })
    ).find((a) => a.id !== guardian.id && a.identities.some((i) => i.type === 'clever_id'))!;
    const g = await jwtVerify(
      assertionOf(remember(await signIn(s, sim, { id: cleverIdOf(contact), role: 'contact' }))),
      jwks,
    );
    expect(g.payload).toMatchObject({ sub: contact.id, kind: 'guardian' });
  });

  it('a login that starts in the Clever portal (no state of ours) is accepted', async () => {
    const student = await account('student', 1);
    const o = remember(await signIn(s, sim, { id: cleverIdOf(student), role: 'student' }, { portal: true }));
    expect(new URL(o.callback).searchParams.get('state')).toBeNull();
    const { payload } = await jwtVerify(assertionOf(o), jwks);
    expect(payload.sub).toBe(student.id);
  });

  it('refuses a deactivated student, and records the refusal on the account', async () => {
    const student = await account('student', 2);
    await store.accounts.setStatus([student.id], 'inactive');
    await expectRefused('account_deactivated', () =>
      signIn(s, sim, { id: cleverIdOf(student), role: 'student' }),
    );
    expect(await store.signIns.get(student.id)).toMatchObject({
      signIns: 0,
      refusals: 1,
      lastRefusedReason: 'account_deactivated',
    });
  });

  it('refuses a student outside the contracted grades (no account)', async () => {
    const students = await store.records.list({ district: DISTRICT }, 'students', { limit: 10_000 });
    const outside = students.find((r) => OUTSIDE_GRADES.includes((r.data as { grade?: string }).grade ?? ''));
    expect(outside).toBeTruthy();
    expect(
      (await store.identities.lookup(DISTRICT, 'clever_id', [outside!.sourceId])).get(outside!.sourceId),
    ).toBeUndefined();
    await expectRefused('not_provisioned', () => signIn(s, sim, { id: outside!.sourceId, role: 'student' }));
  });

  it('refuses a reused code and an expired code', async () => {
    const student = await account('student', 3);
    const first = remember(
      await signIn(s, sim, { id: cleverIdOf(student), role: 'student' }, { portal: true }),
    );
    assertionOf(first);
    await expectRefused('code_rejected', async () => {
      const res = await fetch(first.callback, { redirect: 'manual' });
      return { ...first, status: res.status, location: res.headers.get('location'), body: await res.text() };
    });
    await expectRefused('code_rejected', () =>
      signIn(
        s,
        sim,
        { id: cleverIdOf(student), role: 'student' },
        {
          beforeCallback: () => {
            testClock.now += CODE_TTL_MS + 1;
          },
        },
      ),
    );
  });

  it('refuses a wrong state, a state this browser never started, and an expired one', async () => {
    const student = await account('student', 4);
    await expectRefused('state_mismatch', () =>
      signIn(
        s,
        sim,
        { id: cleverIdOf(student), role: 'student' },
        { beforeCallback: (cb) => cb.searchParams.set('state', 'forged-state-value') },
      ),
    );
    // Another browser (no cookie) arriving with our state.
    await expectRefused('state_mismatch', async () => {
      const start = await fetch(`${s.base}/auth/clever/login`, { redirect: 'manual' });
      const authorize = new URL(start.headers.get('location')!);
      authorize.searchParams.set('login_as', cleverIdOf(student));
      authorize.searchParams.set('login_role', 'student');
      const picked = await fetch(authorize, { redirect: 'manual' });
      return callBack(picked.headers.get('location')!);
    });
    // A login left on Clever's page longer than the state lives.
    await expectRefused('state_mismatch', () =>
      signIn(
        s,
        sim,
        { id: cleverIdOf(student), role: 'student' },
        {
          beforeCallback: () => {
            testClock.now += STATE_TTL_SECONDS * 1000;
          },
        },
      ),
    );
    expect(await store.signIns.get(student.id)).toBeUndefined();
  });

  it('refuses a Clever user the store has never seen (a student who joined after the last sync)', async () => {
    const known = new Set(
      (await store.records.list({ district: DISTRICT }, 'students', { active: false, limit: 10_000 })).map(
        (r) => r.sourceId,
      ),
    );
    let newcomer: string | undefined;
    for (let day = 0; day < 10 && newcomer === undefined; day++) {
      sim.advance(1);
      const res = await fetch(`${sim.url}/v3.0/users?role=student&limit=10000`, {
        headers: { authorization: `Bearer ${sim.token}` },
      });
      const page = (await res.json()) as { data: Array<{ data: { id: string } }> };
      newcomer = page.data.map((u) => u.data.id).find((id) => !known.has(id));
    }
    expect(newcomer).toBeTruthy();
    await expectRefused('unknown_user', () =>
      signIn(s, sim, { id: newcomer!, role: 'student' }, { portal: true }),
    );
  });

  it("signs in within the login's district: ?district= of another one is refused, the portal login is not", async () => {
    const south = (await store.accounts.list({ district: 'south', kind: 'staff', status: 'active' }))[0]!;
    const user = { id: cleverIdOf(south), role: south.roles[0]!, simDistrict: sim.districts[1]!.id };
    await expectRefused('district_mismatch', () => signIn(s, sim, user, { district: DISTRICT }));
    const { payload } = await jwtVerify(
      assertionOf(remember(await signIn(s, sim, user, { portal: true }))),
      jwks,
    );
    expect(payload).toMatchObject({ sub: south.id, district: 'south' });
  });

  it('refuses an unconfigured district, from the portal and from ?district=, and never redirects', async () => {
    const other = sim.districts[2]!;
    // A teacher of the simulator's second district, which this store does not serve.
    const page = await (
      await fetch(
        `${sim.url}/oauth/authorize?response_type=code&client_id=${sim.clientId}&redirect_uri=${encodeURIComponent(s.config.redirectUri)}&district_id=${other.id}`,
      )
    ).text();
    const teacherId = /data-role="teacher" data-user="([0-9a-f]{24})"/.exec(page)![1]!;
    await expectRefused('district_not_configured', () =>
      signIn(s, sim, { id: teacherId, role: 'teacher', simDistrict: other.id }, { portal: true }),
    );
    for (const q of ['?district=nowhere', `?district=${'x'.repeat(500)}`]) {
      const res = await fetch(`${s.base}/auth/clever/login${q}`, { redirect: 'manual' });
      expect(res.status).toBe(403);
      expect(res.headers.get('location')).toBeNull();
      expect(await res.text()).toContain('data-reason="district_not_configured"');
    }
  });

  it('refuses a callback without a code, and one where Clever reports an error', async () => {
    for (const [query, reason] of [
      ['', 'missing_code'],
      [`?code=${'c1'.repeat(16)}&code=${'d2'.repeat(16)}`, 'missing_code'],
      ['?error=access_denied', 'authorization_denied'],
    ] as const) {
      await expectRefused(reason, () => callBack(`${s.config.redirectUri}${query}`));
    }
  });

  it('with no sso.appUrl, a page shows who signed in', async () => {
    // Another secretKey cannot read the stored signing key: the server does not start, and says why.
    await expect(
      serve(
        store,
        sim,
        new ServiceMetrics(),
        captured.logger,
        null,
        SecretBox.fromString(SecretBox.generateKey()),
      ),
    ).rejects.toThrow(/secretKey: the stored secret was encrypted with key/);
    const other = await serve(
      store,
      sim,
      new ServiceMetrics(),
      captured.logger,
      null,
      box,
      null,
      () => testClock.now,
    );
    try {
      const teacher = (
        await store.accounts.list({ district: DISTRICT, kind: 'staff', status: 'active' })
      )[0]!;
      const o = remember(await signIn(other, sim, { id: cleverIdOf(teacher), role: teacher.roles[0]! }));
      expect(o.status).toBe(200);
      expect(o.location).toBeNull();
      expect(o.body).toContain(`<dd data-field="account">${teacher.id}</dd>`);
      expect(o.body).toContain('<dd data-field="kind">staff</dd>');
      // Both servers sign with the one key kept in the store.
      const a = (await (await fetch(`${s.base}/.well-known/jwks.json`)).json()) as {
        keys: Array<{ kid: string }>;
      };
      const b = (await (await fetch(`${other.base}/.well-known/jwks.json`)).json()) as {
        keys: Array<{ kid: string }>;
      };
      expect(a.keys.map((k) => k.kid)).toEqual(b.keys.map((k) => k.kid));
    } finally {
      await other.app.close();
    }
  });

  it('signs with sso.signingKey when one is configured (RSA, PEM), and refuses a key it cannot use', async () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    await expect(
      serve(
        store,
        sim,
        new ServiceMetrics(),
        captured.logger,
        APP_URL,
        box,
        'not a key',
        () => testClock.now,
      ),
    ).rejects.toThrow(/sso\.signingKey/);
    const other = await serve(
      store,
      sim,
      new ServiceMetrics(),
      captured.logger,
      APP_URL,
      box,
      pem,
      () => testClock.now,
    );
    try {
      const student = await account('student', 5);
      const token = assertionOf(
        remember(await signIn(other, sim, { id: cleverIdOf(student), role: 'student' })),
      );
      const remote = createRemoteJWKSet(new URL(`${other.base}/.well-known/jwks.json`));
      const { payload, protectedHeader } = await jwtVerify(token, remote);
      expect(protectedHeader.alg).toBe('RS256');
      expect(payload.sub).toBe(student.id);
      // Not the generated key: the first server's JWKS does not verify it.
      await expect(jwtVerify(token, jwks)).rejects.toThrow();
    } finally {
      await other.app.close();
    }
  });

  it('counts sign-ins, and logs reason codes and ids but no names, emails, codes, states or assertions', async () => {
    const text = await (await fetch(`${s.base}/metrics`)).text();
    expect(text).toMatch(/^rostersync_sign_ins_total\{outcome="signed_in",reason="none"\} [1-9]\d*$/m);
    const out = captured.text();
    expect(out).toMatch(/"sso":"signed_in"/);
    expect(secrets.size).toBeGreaterThan(100);
    expect([...secrets].filter((v) => out.includes(v))).toEqual([]);
  });
});

describe('Clever sign-in is off without its configuration', () => {
  it('serves no /auth/clever routes when buildApp is given no signIn options', async () => {
    const store = await Store.open({ location: ':memory:' });
    try {
      const app = await buildApp({ store, metrics: new ServiceMetrics() });
      expect((await app.inject({ url: '/auth/clever/login' })).statusCode).toBe(404);
      expect((await app.inject({ url: '/.well-known/jwks.json' })).statusCode).toBe(404);
      await app.close();
    } finally {
      await store.close();
    }
  });
});
