import { describe, expect, it } from 'vitest';
import type { CleverSimulator } from 'rostersync/simulator';
import { CODE_TTL_MS } from 'rostersync/simulator';
import { get, walk, withSim } from './sim-client.js';
import type { User } from './sim-client.js';

const REDIRECT = 'http://localhost:9999/auth/clever/callback';

interface Me {
  data: { id: string; district: string; type: string };
}

async function mint(
  sim: CleverSimulator,
  body: unknown,
  query = '',
  method = 'POST',
): Promise<{ status: number; body: { codes?: string[]; message?: string } }> {
  const res = await fetch(`${sim.url}/__sim/codes${query}`, {
    method,
    headers: { 'Content-Type': 'application/json' },
    ...(method === 'POST' ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
  });
  return { status: res.status, body: (await res.json()) as { codes?: string[]; message?: string } };
}

async function exchange(
  sim: CleverSimulator,
  code: string,
  redirectUri = REDIRECT,
): Promise<{ status: number; token?: string; error?: string }> {
  const res = await fetch(`${sim.url}/oauth/tokens`, {
    method: 'POST',
    headers: {
      Authorization: `Basic ${Buffer.from(`${sim.clientId}:${sim.clientSecret}`).toString('base64')}`,
      'Content-Type': 'application/json',
    },
    body: JSON.stringify({ code, grant_type: 'authorization_code', redirect_uri: redirectUri }),
  });
  const body = (await res.json()) as { access_token?: string; error?: string };
  return {
    status: res.status,
    ...(body.access_token ? { token: body.access_token } : {}),
    ...(body.error ? { error: body.error } : {}),
  };
}

describe('POST /__sim/codes (Instant Login codes in bulk)', () => {
  it('mints one single-use code per login, in order, each for its user and role', async () => {
    let clock = 7_000_000;
    await withSim({ students: 40, now: () => clock }, async (sim) => {
      const users = (await walk<User>(sim, '/v3.0/users?limit=100', sim.token)).items;
      const student = users.find((u) => 'student' in u.roles)!;
      const multi = users.find((u) => 'teacher' in u.roles && 'staff' in u.roles)!;
      expect(student).toBeTruthy();
      expect(multi).toBeTruthy();
      const logins = [
        { user: student.id, role: 'student' },
        { user: multi.id, role: 'staff' },
        { user: multi.id, role: 'teacher' },
        { user: student.id },
      ];
      const minted = await mint(sim, { redirect_uri: REDIRECT, logins });
      expect(minted.status).toBe(200);
      const codes = minted.body.codes!;
      expect(codes).toHaveLength(logins.length);
      expect(new Set(codes).size).toBe(codes.length);

      const expected = [
        [student.id, 'student'],
        [multi.id, 'staff'],
        [multi.id, 'teacher'],
        [student.id, 'student'],
      ];
      for (const [i, code] of codes.entries()) {
        const tok = await exchange(sim, code);
        expect(tok.status).toBe(200);
        const me = await get<Me>(sim, '/v3.0/me', tok.token!);
        expect(me.status).toBe(200);
        expect([me.body.data.id, me.body.data.type]).toEqual(expected[i]);
        expect(me.body.data.district).toBe(sim.districts[0]!.id);
        expect((await exchange(sim, code)).error).toBe('invalid_grant');
      }

      // The redirect_uri is bound to the code, and minted codes expire like authorize's.
      const [other, late] = (await mint(sim, { redirect_uri: REDIRECT, logins: logins.slice(0, 2) })).body
        .codes!;
      expect((await exchange(sim, other!, 'http://localhost:9999/elsewhere')).error).toBe('invalid_grant');
      clock += CODE_TTL_MS + 1;
      expect((await exchange(sim, late!)).error).toBe('invalid_grant');
    });
  });

  it('refuses unknown users, roles not held, bad bodies and other methods, minting nothing', async () => {
    await withSim({ students: 40 }, async (sim) => {
      const users = (await walk<User>(sim, '/v3.0/users?limit=100&role=student', sim.token)).items;
      const student = users[0]!;
      const ok = { user: student.id, role: 'student' };
      const refused: Array<[unknown, string | RegExp]> = [
        [
          { redirect_uri: REDIRECT, logins: [ok, { user: 'ffffffffffffffffffffffff' }] },
          'logins.1: unknown user',
        ],
        [
          { redirect_uri: REDIRECT, logins: [{ user: student.id, role: 'teacher' }] },
          /does not hold role teacher/,
        ],
        [{ redirect_uri: REDIRECT, logins: [{ user: student.id, role: 'principal' }] }, /logins\.0\.role/],
        [{ redirect_uri: 'nope', logins: [ok] }, 'redirect_uri must be an absolute URL'],
        [{ redirect_uri: REDIRECT, logins: [] }, /logins/],
        [{ redirect_uri: REDIRECT, logins: Array.from({ length: 10_001 }, () => ok) }, /logins/],
        [{ redirect_uri: REDIRECT, logins: [ok], extra: 1 }, /extra/],
        ['{not json', /body must be JSON/],
      ];
      for (const [body, message] of refused) {
        const r = await mint(sim, body);
        expect(r.status).toBe(400);
        expect(r.body.codes).toBeUndefined();
        expect(r.body.message).toMatch(message);
      }
      expect((await mint(sim, null, '?district=1')).status).toBe(400);
      expect((await mint(sim, null, '', 'GET')).status).toBe(405);
    });
  });
});
