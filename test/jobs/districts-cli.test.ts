import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);

async function cli(args: string[], env: Record<string, string> = {}) {
  try {
    const r = await run(process.execPath, ['bin/rostersync.js', ...args], {
      env: { ...process.env, ROSTERSYNC_LOG_LEVEL: 'silent', ROSTERSYNC_HEAP_MB: '0', ...env },
    });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('districts as configuration, with schedules', () => {
  let dir: string;
  let db: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'rostersync-districts-'));
    db = join(dir, 'd.db');
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('adds, schedules, lists, shows and removes districts, in the store and from rostersync.yaml', async () => {
    expect(
      (
        await cli([
          'districts',
          'add',
          'd1',
          '--cron',
          '0 3 * * 1-5',
          '--timezone',
          'America/Chicago',
          '--database',
          db,
        ])
      ).code,
    ).toBe(0);
    expect((await cli(['districts', 'add', 'd2', '--database', db])).code).toBe(0);
    const twice = await cli(['districts', 'add', 'd2', '--database', db]);
    expect(twice.code).toBe(1);
    expect(twice.stderr).toMatch(/exists already/);
    const bad = await cli(['districts', 'add', 'd3', '--cron', 'every night', '--database', db]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/not a cron expression/);
    const badZone = await cli(['districts', 'set', 'd2', 'schedule.timezone=Mars/Olympus', '--database', db]);
    expect(badZone.stderr).toMatch(/unknown time zone/);
    expect(
      (await cli(['districts', 'set', 'd2', 'schedule.timezone=Europe/Berlin', '--database', db])).code,
    ).toBe(0);

    const yaml = join(dir, 'rostersync.yaml');
    writeFileSync(
      yaml,
      'districts:\n  d5:\n    studentKey: student_number\n    schedule:\n      cron: "15 2 * * *"\n      timezone: America/New_York\n',
    );
    const listed = await cli(['districts', 'list', '--json', '--database', db], { ROSTERSYNC_CONFIG: yaml });
    const list = JSON.parse(listed.stdout) as Array<{
      id: string;
      cron: string;
      timezone: string;
      nextRun: string;
    }>;
    expect(list.map((d) => [d.id, d.cron, d.timezone])).toEqual([
      ['d1', '0 3 * * 1-5', 'America/Chicago'],
      ['d2', '30 1 * * *', 'Europe/Berlin'],
      ['d5', '15 2 * * *', 'America/New_York'],
    ]);
    // 03:00 in Chicago is 09:00 or 08:00 UTC; 01:30 in Berlin is 00:30 or 23:30 UTC.
    expect(list[0]!.nextRun).toMatch(/T0[89]:00:00/);
    expect(list[1]!.nextRun).toMatch(/T(00|23):30:00/);

    const shown = JSON.parse((await cli(['districts', 'show', 'd5', '--database', db])).stdout) as {
      config: { studentKey: string };
      schedule: { cron: string };
    };
    expect(shown.config.studentKey).toBe('student_number');
    expect(shown.schedule.cron).toBe('15 2 * * *');

    expect((await cli(['districts', 'remove', 'd2', '--database', db])).code).toBe(0);
    const after = JSON.parse((await cli(['districts', 'list', '--json', '--database', db])).stdout) as Array<{
      id: string;
    }>;
    expect(after.map((d) => d.id)).toEqual(['d1', 'd5']);
  });

  it('runs start asks for runs and returns at once without --wait', async () => {
    const r = await cli(['runs', 'start', '--all', '--database', db]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/district d1: run requested/);
    expect(r.stdout).toMatch(/district d5: run requested/);
    // Asking again while those wait joins them (same request id).
    const again = await cli(['runs', 'start', '--district', 'd1', '--database', db]);
    expect(/\((\S+)\)/.exec(again.stdout)?.[1]).toBe(
      /district d1: run requested \((\S+)\)/.exec(r.stdout)?.[1],
    );
    expect((await cli(['runs', 'start', '--database', db])).stderr).toMatch(/--district ID or --all/);
  });
});
