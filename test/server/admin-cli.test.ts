import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCli } from '../helpers/spawn-cli.js';

function cli(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, ['bin/rostersync.js', ...args], {
    encoding: 'utf8',
    env: { ...process.env, ROSTERSYNC_LOG_LEVEL: 'silent', ROSTERSYNC_HEAP_MB: '0', ...env },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('admins and the demo that keeps serving', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'rostersync-admin-cli-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('admins create prints a one-time setup link on the public URL, and refuses an unknown district', () => {
    const db = join(dir, 'admins.db');
    const env = { ROSTERSYNC_SERVER_PUBLIC_URL: 'https://rostersync.example.org/' };
    const r = cli(['admins', 'create', 'Support@Example.org', '--database', db], env);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('admin support@example.org: every district (vendor admin)');
    expect(r.stdout).toMatch(/^https:\/\/rostersync\.example\.org\/admin\/setup\?token=[\w-]{43}$/m);
    const bad = cli(['admins', 'create', 'd@example.org', '--district', 'nope', '--database', db]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('district nope does not exist');
    const list = cli(['admins', 'list', '--database', db]);
    expect(list.stdout).toMatch(/support@example\.org\s+\(all: vendor\)\s+no/);
  });

  it('demo --serve syncs, then serves the admin app with a one-time sign-in link and Clever sign-in for a demo student until stopped', async () => {
    const db = join(dir, 'demo.db');
    const { child, match, exited, output } = await startCli(
      ['demo', '--serve', '--port', '0', '--students', '200', '--database', db],
      {},
      /Sign in as a demo student through the simulator's Clever login page: (\S+)\n/,
    );
    try {
      const { out } = output();
      expect(out).toContain('1. First sync: everything is new.');
      const admin = /Admin web app: (\S+)\n/.exec(out)![1]!;
      const setup = /One-time admin sign-in \(demo-admin@example\.org, choose a password\): (\S+)\n/.exec(
        out,
      )![1]!;
      expect(setup.startsWith(admin)).toBe(true);
      const page = await fetch(setup.replace('localhost', '127.0.0.1'));
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('Choose a password');
      const home = await fetch(admin.replace('localhost', '127.0.0.1'), { redirect: 'manual' });
      expect(home.status).toBe(303);
      // The simulator keeps running: its Clever login page lists the demo district's people.
      const student = new URL(match[1]!);
      expect(student.searchParams.get('redirect_uri')).toBe(
        `${admin.replace(/\/admin$/, '')}/auth/clever/callback`,
      );
      const login = await fetch(student);
      expect(login.status).toBe(200);
      const picker = await login.text();
      // The first student on the simulator's login page, as a person would click them.
      const pick = /<a class="login" data-role="student" data-user="[^"]+" href="([^"]+)">([^<]+)<\/a>/.exec(
        picker,
      )!;
      expect(pick).not.toBeNull();
      const chosen = await fetch(new URL(pick[1]!.replaceAll('&#38;', '&'), student), { redirect: 'manual' });
      expect(chosen.status).toBe(302);
      const callback = new URL(chosen.headers.get('location')!);
      expect(`${callback.origin}${callback.pathname}`).toBe(student.searchParams.get('redirect_uri'));
      callback.hostname = '127.0.0.1';
      const signedIn = await fetch(callback, { redirect: 'manual' });
      const body = await signedIn.text();
      expect(signedIn.status, body).toBe(200);
      expect(body).toContain('<h1>Signed in</h1>');
      expect(body).toContain(`<dd data-field="name">${pick[2]!}</dd>`);
      expect(body).toContain('<dd data-field="kind">student</dd>');
      expect(body).toMatch(/<dd data-field="account">[^<]+<\/dd>/);
      // The same code a second time is refused: it was exchanged once.
      expect((await fetch(callback, { redirect: 'manual' })).status).toBe(400);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  });
});
