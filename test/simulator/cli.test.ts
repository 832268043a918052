import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseFaults } from '../../src/cli/commands/clever-sim.js';
import type { GroundTruth } from 'rostersync/simulator';

const runner = fileURLToPath(new URL('./fixtures/clever-sim-cli.ts', import.meta.url));

function startCli(args: string[]): Promise<{ line: string; stop: () => Promise<number | null> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', runner, 'clever-sim', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      const nl = out.indexOf('\n');
      if (nl >= 0) {
        resolve({
          line: out.slice(0, nl),
          stop: () =>
            new Promise((done) => {
              child.once('exit', (code) => done(code));
              child.kill('SIGTERM');
            }),
        });
      }
    });
    child.once('exit', (code) => reject(new Error(`clever-sim exited early (${code}): ${err}`)));
  });
}

describe('rostersync clever-sim', () => {
  it('prints one line with url= and token=, serves, and exits cleanly on SIGTERM', async () => {
    const { line, stop } = await startCli([
      '--students',
      '60',
      '--seed',
      '5',
      '--advance',
      '2',
      '--token',
      'cli-test-token',
      '--client-id',
      'cli-app',
      '--client-secret',
      'cli-secret',
    ]);
    try {
      expect(line).toMatch(
        /^clever-sim listening url=http:\/\/127\.0\.0\.1:\d+ token=cli-test-token client_id=cli-app client_secret=cli-secret$/,
      );
      const url = /url=(\S+)/.exec(line)![1]!;
      const res = await fetch(`${url}/v3.0/users?role=student&count=true`, {
        headers: { Authorization: 'Bearer cli-test-token' },
      });
      expect(res.status).toBe(200);
      const events = await fetch(`${url}/v3.0/events?limit=1`, {
        headers: { Authorization: 'Bearer cli-test-token' },
      });
      expect(((await events.json()) as { data: unknown[] }).data.length).toBe(1);
    } finally {
      expect(await stop()).toBe(0);
    }
  });

  it('derives the token from the seed and honours --no-quirks, --faults and --rate-limit', async () => {
    const a = await startCli([
      '--students',
      '30',
      '--seed',
      '9',
      '--no-quirks',
      '--faults',
      '1:503',
      '--rate-limit',
      '7',
    ]);
    const b = await startCli(['--students', '30', '--seed', '9']);
    try {
      const ta = /token=(\S+)/.exec(a.line)![1]!;
      expect(ta).toBe(/token=(\S+)/.exec(b.line)![1]);
      const url = /url=(\S+)/.exec(a.line)![1]!;
      const res = await fetch(`${url}/v3.0/users`, { headers: { Authorization: `Bearer ${ta}` } });
      expect(res.status).toBe(503);
      await fetch(`${url}/__sim/faults`, { method: 'POST', body: 'null' });
      const ok = await fetch(`${url}/v3.0/users`, { headers: { Authorization: `Bearer ${ta}` } });
      expect(ok.headers.get('x-ratelimit-limit')).toBe('7');
      const truth = (await (await fetch(`${url}/__sim/truth`)).json()) as GroundTruth;
      expect(truth.multiRoleStaff).toBe(0);
    } finally {
      await a.stop();
      await b.stop();
    }
  });

  it('parses --faults RATE[:kind,kind]', () => {
    expect(parseFaults('0.05')).toEqual({ rate: 0.05 });
    expect(parseFaults('0.2:500,reset,truncated')).toEqual({
      rate: 0.2,
      kinds: ['500', 'reset', 'truncated'],
    });
    expect(() => parseFaults('2')).toThrow();
    expect(() => parseFaults('0.1:boom')).toThrow();
    expect(() => parseFaults('')).toThrow();
  });
});
