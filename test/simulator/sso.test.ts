import { describe, expect, it } from 'vitest';
import type { CleverSimulator } from 'rostersync/simulator';
import { CODE_TTL_MS } from 'rostersync/simulator';
import { get, withSim } from './sim-client.js';
import type { Single, User } from './sim-client.js';

interface TokenAnswer {
  access_token?: string;
  token_type?: string;
  error?: string;
  error_description?: string;
}

interface UserInfo {
  sub: string;
  user_id: string;
  multi_role_user_id: string;
  user_type: string;
  district: string;
  email: string | null;
  name: { first: string; middle: string; last: string };
  given_name: string;
  family_name: string;
  email_verified: boolean;
}

const REDIRECT = 'http://localhost:9999/auth/clever/callback';

function authorizeUrl(sim: CleverSimulator, extra = ''): string {
  const p = new URLSearchParams({
    response_type: 'code',
    client_id: sim.clientId,
    redirect_uri: REDIRECT,
    state: 's-123',
  });
  return `${sim.url}/oauth/authorize?${p.toString()}${extra}`;
}

/** Opens the test page, follows the first login link for `role`, returns the redirect target. */
async function loginAs(sim: CleverSimulator, role: string): Promise<{ userId: string; location: URL }> {
  const page = await fetch(authorizeUrl(sim));
  expect(page.status).toBe(200);
  expect(page.headers.get('content-type')).toContain('text/html');
  const html = await page.text();
  const m = new RegExp(`data-role="${role}" data-user="([0-9a-f]{24})" href="([^"]+)"`).exec(html);
  if (!m) throw new Error(`no ${role} link on the login page`);
  const href = m[2]!.replace(/&amp;/g, '&').replace(/&#38;/g, '&');
  const res = await fetch(`${sim.url}${href}`, { redirect: 'manual' });
  expect(res.status).toBe(302);
  return { userId: m[1]!, location: new URL(res.headers.get('location')!) };
}

async function exchange(
  sim: CleverSimulator,
  code: string,
  form = false,
): Promise<{ status: number; body: TokenAnswer }> {
  const basic = `Basic ${Buffer.from(`${sim.clientId}:${sim.clientSecret}`).toString('base64')}`;
  const fields = { code, grant_type: 'authorization_code', redirect_uri: REDIRECT };
  const res = await fetch(`${sim.url}/oauth/tokens`, {
    method: 'POST',
    headers: {
      Authorization: basic,
      'Content-Type': form ? 'application/x-www-form-urlencoded' : 'application/json',
    },
    body: form ? new URLSearchParams(fields).toString() : JSON.stringify(fields),
  });
  return { status: res.status, body: (await res.json()) as TokenAnswer };
}

describe('Instant Login (SSO)', () => {
  it('authorize page → code → token → /me, /userinfo and the allowed Data API calls', async () => {
    await withSim({ students: 80 }, async (sim) => {
      for (const [role, form] of [
        ['teacher', false],
        ['student', true],
        ['contact', false],
        ['district_admin', true],
        ['staff', false],
      ] as const) {
        const { userId, location } = await loginAs(sim, role);
        expect(`${location.origin}${location.pathname}`).toBe(REDIRECT);
        expect(location.searchParams.get('state')).toBe('s-123');
        const code = location.searchParams.get('code')!;
        expect(code).toBeTruthy();
        const tok = await exchange(sim, code, form);
        expect(tok.status).toBe(200);
        expect(tok.body.token_type).toBe('bearer');
        const token = tok.body.access_token as string;
        const districtId = sim.districts[0]!.id;

        for (const v of ['v3.0', 'v3.1']) {
          const me = await get(sim, `/${v}/me`, token);
          expect(me.status).toBe(200);
          expect(me.body).toEqual({
            type: role,
            data: { id: userId, district: districtId, type: role, authorized_by: 'district' },
            links: [
              { rel: 'self', uri: `/${v}/me` },
              { rel: 'canonical', uri: `/${v}/users/${userId}` },
              { rel: 'district', uri: `/${v}/districts/${districtId}` },
            ],
          });
        }
        const self = await get<Single<User>>(sim, `/v3.0/users/${userId}`, token);
        expect(self.status).toBe(200);
        const heldRole = (self.body.data.roles as Record<string, { legacy_id?: string } | undefined>)[role];
        expect(heldRole).toBeTruthy();
        expect((await get(sim, `/v3.0/districts/${districtId}`, token)).status).toBe(200);
        // User tokens cannot page and may not read the roster.
        expect((await get(sim, `/v3.0/users/${userId}?limit=1`, token)).status).toBe(400);
        expect((await get(sim, '/v3.0/users', token)).status).toBe(403);
        expect((await get(sim, '/v3.0/sections', token)).status).toBe(403);

        const info = await get<UserInfo>(sim, '/userinfo', token);
        expect(info.status).toBe(200);
        expect(info.body.sub).toBe(userId);
        expect(info.body.multi_role_user_id).toBe(userId);
        expect(info.body.user_type).toBe(role);
        expect(info.body.district).toBe(districtId);
        expect(info.body.email_verified).toBe(false);
        expect(info.body.given_name).toBe(self.body.data.name.first ?? '');
        expect(info.body.family_name).toBe(self.body.data.name.last ?? '');
        expect(Object.keys(info.body.name)).toEqual(['first', 'middle', 'last']);
        if (role !== 'student') expect(info.body.user_id).toBe(heldRole?.legacy_id ?? userId);
      }
      // A district token is not an Instant Login token for /userinfo.
      expect((await get(sim, '/userinfo', sim.token)).status).toBe(401);
    });
  });

  it('codes are single-use and expire after one minute (injected clock)', async () => {
    let clock = 5_000_000;
    await withSim({ students: 40, now: () => clock }, async (sim) => {
      const first = await loginAs(sim, 'teacher');
      const code = first.location.searchParams.get('code')!;
      expect((await exchange(sim, code)).status).toBe(200);
      const reuse = await exchange(sim, code);
      expect(reuse.status).toBe(400);
      expect(reuse.body.error).toBe('invalid_grant');
      expect(typeof reuse.body.error_description).toBe('string');

      const second = await loginAs(sim, 'student');
      clock += CODE_TTL_MS + 1;
      const late = await exchange(sim, second.location.searchParams.get('code')!);
      expect(late.status).toBe(400);
      expect(late.body.error).toBe('invalid_grant');

      const third = await loginAs(sim, 'student');
      clock += CODE_TTL_MS - 1;
      expect((await exchange(sim, third.location.searchParams.get('code')!)).status).toBe(200);
      expect((await exchange(sim, 'not-a-code')).body.error).toBe('invalid_grant');
    });
  });

  it('rejects bad client credentials, wrong grant types and bad authorize requests', async () => {
    await withSim({ students: 40 }, async (sim) => {
      const { location } = await loginAs(sim, 'teacher');
      const bad = await fetch(`${sim.url}/oauth/tokens`, {
        method: 'POST',
        headers: {
          Authorization: `Basic ${Buffer.from(`${sim.clientId}:wrong`).toString('base64')}`,
          'Content-Type': 'application/json',
        },
        body: JSON.stringify({ code: location.searchParams.get('code'), grant_type: 'authorization_code' }),
      });
      expect(bad.status).toBe(401);
      const basic = `Basic ${Buffer.from(`${sim.clientId}:${sim.clientSecret}`).toString('base64')}`;
      const grant = await fetch(`${sim.url}/oauth/tokens`, {
        method: 'POST',
        headers: { Authorization: basic, 'Content-Type': 'application/json' },
        body: JSON.stringify({ code: location.searchParams.get('code'), grant_type: 'password' }),
      });
      expect(grant.status).toBe(400);
      expect(((await grant.json()) as TokenAnswer).error).toBe('unsupported_grant_type');
      expect((await fetch(authorizeUrl(sim).replace(sim.clientId, 'someone-else'))).status).toBe(400);
      expect(
        (
          await fetch(
            `${sim.url}/oauth/authorize?response_type=code&client_id=${sim.clientId}&redirect_uri=nope`,
          )
        ).status,
      ).toBe(400);
      expect(
        (await fetch(authorizeUrl(sim, '&login_as=ffffffffffffffffffffffff'), { redirect: 'manual' })).status,
      ).toBe(404);
    });
  });
});
