import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CleverSignIn } from '../../src/sources/clever-sign-in.js';

/**
 * Who a login is, when `/me` leaves something open: a multi-role user's `/me` names no single role,
 * and `/userinfo` says which one the person logged in with. Against a real HTTP server that answers
 * as Clever does for such a user (the simulator's `/me` always names the role).
 */
describe('Clever sign-in: the /userinfo fallback', () => {
  let server: Server;
  let url: string;
  const asked: string[] = [];
  /** What each token's `/me` and `/userinfo` answer: [status, body]. */
  const answers: Record<string, { me: [number, unknown]; userinfo?: [number, unknown] }> = {
    'multi-role': {
      me: [200, { type: 'user', data: { id: 'u-multi', district: 'd-1' } }],
      userinfo: [200, { sub: 'u-multi', user_type: 'teacher', district: 'd-1' }],
    },
    'no-district': {
      me: [200, { data: { id: 'u-2', type: 'student' } }],
      userinfo: [200, { sub: 'u-2', user_type: 'student', district_id: 'd-2' }],
    },
    'userinfo-down': {
      me: [200, { data: { id: 'u-3', district: 'd-3' } }],
      userinfo: [503, { error: 'unavailable' }],
    },
    nobody: {
      me: [200, { data: { type: 'student' } }],
      userinfo: [200, {}],
    },
    complete: { me: [200, { data: { id: 'u-4', district: 'd-4', type: 'student' } }] },
  };

  beforeAll(async () => {
    server = createServer((req, res) => {
      const token = (req.headers.authorization ?? '').replace(/^Bearer /, '');
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      asked.push(`${token} ${path}`);
      const a = answers[token];
      const answer = !a
        ? [401, {}]
        : path === '/v3.1/me'
          ? a.me
          : path === '/userinfo'
            ? a.userinfo
            : undefined;
      res.writeHead((answer?.[0] as number) ?? 404, { 'content-type': 'application/json' });
      res.end(JSON.stringify(answer?.[1] ?? { error: 'not found' }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((r) => server.close(r));
  });

  const signIn = () =>
    new CleverSignIn({ oauthUrl: url, apiUrl: url, apiVersion: 'v3.1', clientId: 'c', clientSecret: 's' });

  it('takes the role a multi-role user logged in with from /userinfo', async () => {
    expect(await signIn().identify('multi-role')).toEqual({
      userId: 'u-multi',
      districtId: 'd-1',
      role: 'teacher',
    });
    expect(asked.filter((a) => a.startsWith('multi-role '))).toEqual([
      'multi-role /v3.1/me',
      'multi-role /userinfo',
    ]);
  });

  it('takes a district /me leaves out from /userinfo (district_id)', async () => {
    expect(await signIn().identify('no-district')).toEqual({
      userId: 'u-2',
      districtId: 'd-2',
      role: 'student',
    });
  });

  it('keeps what /me said, with no role, when /userinfo fails', async () => {
    expect(await signIn().identify('userinfo-down')).toEqual({
      userId: 'u-3',
      districtId: 'd-3',
      role: null,
    });
  });

  it('refuses a login neither names a user for', async () => {
    await expect(signIn().identify('nobody')).rejects.toMatchObject({ code: 'bad_response' });
  });

  it('asks /userinfo nothing when /me says it all, and names a rejected token as such', async () => {
    expect(await signIn().identify('complete')).toEqual({
      userId: 'u-4',
      districtId: 'd-4',
      role: 'student',
    });
    expect(asked.filter((a) => a.startsWith('complete '))).toEqual(['complete /v3.1/me']);
    await expect(signIn().identify('unknown')).rejects.toMatchObject({ code: 'auth' });
  });
});
