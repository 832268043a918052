import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCleverSimulator } from '../../src/simulator/index.js';
import type { CleverSimulator } from '../../src/simulator/index.js';
import { SecretBox } from '../../src/store/secrets.js';
import { Store } from '../../src/store/store.js';
import { freePort } from '../helpers/clever-sign-in.js';
import { startCli } from '../helpers/spawn-cli.js';
import { syncSim } from '../helpers/sync.js';

/** `rostersync serve` reads the sign-in settings from its environment and serves the routes. */
describe('rostersync serve with Clever sign-in', () => {
  let sim: CleverSimulator;
  let dir: string;
  let location: string;
  let teacherId: string;
  let teacherAccount: string;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    sim = await startCleverSimulator({ seed: 31, students: 60 });
    dir = mkdtempSync(join(tmpdir(), 'rs-sso-serve-'));
    location = join(dir, 'svc.db');
    const store = await Store.open({ location });
    try {
      expect((await syncSim(store, sim, { district: 'north' })).status).toBe('succeeded');
      const staff = await store.accounts.list({ district: 'north', kind: 'staff', status: 'active' });
      const teacher = staff.find((a) => a.roles.includes('teacher'))!;
      teacherAccount = teacher.id;
      teacherId = teacher.identities.find((i) => i.type === 'clever_id')!.value;
    } finally {
      await store.close();
    }
  }, 120_000);

  afterAll(async () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('signs a teacher in end to end through the CLI-started server', async () => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const serve = await startCli(
      ['serve', '--port', String(port), '--workers', '0', '--database', location],
      {
        ROSTERSYNC_SECRET_KEY: SecretBox.generateKey(),
        ROSTERSYNC_CLEVER_URL: sim.url,
        ROSTERSYNC_CLEVER_OAUTH_URL: sim.url,
        ROSTERSYNC_CLEVER_CLIENT_ID: sim.clientId,
        ROSTERSYNC_CLEVER_CLIENT_SECRET: sim.clientSecret,
        ROSTERSYNC_SSO_REDIRECT_URI: `${base}/auth/clever/callback`,
        ROSTERSYNC_SSO_APP_URL: 'http://app.example.test/welcome',
      },
      /url=(\S+)/,
    );
    children.push(serve.child);
    const start = await fetch(`${base}/auth/clever/login?district=north`, { redirect: 'manual' });
    expect(start.status).toBe(302);
    const authorize = new URL(start.headers.get('location')!);
    expect(`${authorize.origin}${authorize.pathname}`).toBe(`${sim.url}/oauth/authorize`);
    expect(authorize.searchParams.get('client_id')).toBe(sim.clientId);
    expect(authorize.searchParams.get('district_id')).toBe(sim.districts[0]!.id);
    authorize.searchParams.set('login_as', teacherId);
    authorize.searchParams.set('login_role', 'teacher');
    const picked = await fetch(authorize, { redirect: 'manual' });
    const cookie = start.headers
      .getSetCookie()
      .map((c) => c.split(';')[0])
      .join('; ');
    const done = await fetch(picked.headers.get('location')!, { redirect: 'manual', headers: { cookie } });
    expect(done.status).toBe(302);
    const to = new URL(done.headers.get('location')!);
    expect(`${to.origin}${to.pathname}`).toBe('http://app.example.test/welcome');
    const { payload } = await jwtVerify(
      to.searchParams.get('assertion')!,
      createRemoteJWKSet(new URL(`${base}/.well-known/jwks.json`)),
      { issuer: base, audience: 'http://app.example.test' },
    );
    expect(payload).toMatchObject({ sub: teacherAccount, kind: 'staff', district: 'north' });
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/^rostersync_sign_ins_total\{outcome="signed_in",reason="none"\} 1$/m);
    serve.child.kill('SIGTERM');
    expect(await serve.exited).toBe(0);
    const { err } = serve.output();
    expect(err).toMatch(/"sso":"signed_in"/);
    expect(err).not.toContain(sim.clientSecret);
  });

  it('serves no sign-in routes without sso.redirectUri, and says so', async () => {
    const serve = await startCli(
      ['serve', '--port', '0', '--workers', '0', '--database', location],
      {
        ROSTERSYNC_CLEVER_URL: sim.url,
        ROSTERSYNC_CLEVER_CLIENT_ID: sim.clientId,
        ROSTERSYNC_CLEVER_CLIENT_SECRET: sim.clientSecret,
      },
      /url=(\S+)/,
    );
    children.push(serve.child);
    const url = serve.match[1]!;
    expect((await fetch(`${url}/auth/clever/login`, { redirect: 'manual' })).status).toBe(404);
    expect((await fetch(`${url}/.well-known/jwks.json`)).status).toBe(404);
    serve.child.kill('SIGTERM');
    expect(await serve.exited).toBe(0);
    expect(serve.output().err).toMatch(/clever sign-in off/);
  });
});
