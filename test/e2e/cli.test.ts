import { execFile } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCleverSimulator } from '../../src/simulator/index.js';
import type { CleverSimulator } from '../../src/simulator/index.js';

const run = promisify(execFile);

/** Runs the real CLI; resolves with exit code and output whatever the code. */
async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(process.execPath, ['bin/rostersync.js', ...args], {
      env: { ...process.env, ROSTERSYNC_LOG_LEVEL: 'silent' },
      maxBuffer: 64 << 20,
    });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('the command line', () => {
  let sim: CleverSimulator;
  let dir: string;
  let db: string;
  beforeAll(async () => {
    sim = await startCleverSimulator({ seed: 3, students: 300 });
    dir = mkdtempSync(join(tmpdir(), 'rostersync-cli-'));
    db = join(dir, 'cli.db');
  });
  afterAll(async () => {
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('lists its commands', async () => {
    const r = await cli(['--help']);
    expect(r.code).toBe(0);
    for (const c of [
      'demo',
      'sync',
      'plan',
      'status',
      'runs',
      'import-csv',
      'export-csv',
      'watch-csv',
      'changes',
      'webhooks',
      'clever-sim',
      'migrate',
    ]) {
      expect(r.stdout).toMatch(new RegExp(`^  ${c}\\b`, 'm'));
    }
  });

  it('runs show of a run that does not exist says so and exits 1', async () => {
    const r = await cli(['runs', 'show', 'no-such-run', '--database', join(dir, 'empty.db')]);
    expect(r.stderr).toContain('run no-such-run does not exist');
    expect(r.code).toBe(1);
  });

  it('sync --json prints the report and exits 0; a second run is all unchanged', async () => {
    const args = ['sync', '--clever-url', sim.url, '--clever-token', sim.token, '--database', db, '--json'];
    const first = await cli(args);
    expect(first.code).toBe(0);
    const report = JSON.parse(first.stdout) as {
      runId: string;
      status: string;
      counts: Record<string, { created: number }>;
      problems: unknown[];
    };
    expect(report.status).toBe('succeeded');
    expect(report.counts.students!.created).toBe(sim.truth().students);
    for (const k of ['schools', 'terms', 'courses', 'students', 'staff', 'contacts', 'sections']) {
      expect(Object.keys(report.counts[k]!).sort()).toEqual([
        'archived',
        'created',
        'rekeyed',
        'restored',
        'skipped',
        'unchanged',
        'updated',
      ]);
    }
    expect(Array.isArray(report.problems)).toBe(true);
    const second = JSON.parse((await cli([...args, '--mode', 'full'])).stdout) as {
      counts: Record<string, { unchanged: number; created: number }>;
    };
    expect(second.counts.students!.unchanged).toBe(sim.truth().students);
    // The printed report says how many records were recognised without decoding.
    const third = await cli([...args.filter((a) => a !== '--json'), '--mode', 'full']);
    expect(third.code).toBe(0);
    const truth = sim.truth();
    const items = truth.students + truth.staffPeople + truth.contacts + truth.sections;
    expect(third.stdout).toMatch(new RegExp(`pages \\d+, unchanged without decoding ${items}\\n`));
    const status = JSON.parse((await cli(['status', '--database', db, '--json'])).stdout) as {
      districts: Array<{ totals: { students: number } }>;
    };
    expect(status.districts[0]!.totals.students).toBe(sim.truth().students);
  });

  it('exits 2 on a held run and 1 on a failed one, with the reason', async () => {
    sim.advance(1, 'bad_sharing');
    const held = await cli(['sync', '--clever-url', sim.url, '--clever-token', sim.token, '--database', db]);
    expect(held.code).toBe(2);
    expect(held.stdout).toMatch(/HELD/);
    expect(held.stdout).toMatch(/runs approve/);
    const failed = await cli([
      'sync',
      '--clever-url',
      sim.url,
      '--clever-token',
      'wrong-token',
      '--database',
      db,
      '--json',
    ]);
    expect(failed.code).toBe(1);
    expect((JSON.parse(failed.stdout) as { reason: string }).reason).toMatch(/token was rejected/);
    expect(failed.stdout + failed.stderr).not.toContain('wrong-token');
  });

  it('import-csv delivers the account changes to a webhook added through the CLI', async () => {
    const received: Array<{ kind: string; signed: boolean }> = [];
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        const change = JSON.parse(body) as { kind: string };
        received.push({
          kind: change.kind,
          signed: typeof req.headers['x-rostersync-signature'] === 'string',
        });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
      const csvDb = join(dir, 'csv.db');
      expect(
        (
          await cli([
            'districts',
            'set',
            'springfield',
            'csv.customRoles={counselor: staff}',
            '--create',
            '--database',
            csvDb,
          ])
        ).code,
      ).toBe(0);
      const added = await cli(['webhooks', 'add', url, '--database', csvDb]);
      expect(added.code).toBe(0);
      expect(added.stdout).toMatch(/signing secret \(shown once\): \S+/);
      const r = await cli([
        'import-csv',
        'samples/csv/springfield',
        '--district',
        'springfield',
        '--database',
        csvDb,
        '--json',
      ]);
      expect(r.code).toBe(0);
      expect((JSON.parse(r.stdout) as { accounts: { provisioned: number } }).accounts.provisioned).toBe(44);
      expect(received.filter((c) => c.kind === 'created')).toHaveLength(44);
      expect(received.every((c) => c.signed)).toBe(true);
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  it('syncs with a token stored encrypted for the district', async () => {
    const tokenDb = join(dir, 'token.db');
    const district = sim.districts[0]!.id;
    expect(
      (await cli(['districts', 'set', district, 'studentKey=sis_id', '--create', '--database', tokenDb]))
        .code,
    ).toBe(0);
    const set = await cli([
      'districts',
      'set-token',
      district,
      '--clever-token',
      sim.token,
      '--database',
      tokenDb,
    ]);
    expect(set.code).toBe(0);
    // The token is not stored in clear.
    const { default: SQLite } = await import('better-sqlite3');
    const raw = new SQLite(tokenDb, { readonly: true });
    const row = raw.prepare('select token_ciphertext from districts where id = ?').get(district) as {
      token_ciphertext: string;
    };
    raw.close();
    expect(row.token_ciphertext).toMatch(/^v1\./);
    expect(row.token_ciphertext).not.toContain(sim.token);
    const r = await cli([
      'sync',
      '--clever-url',
      sim.url,
      '--district',
      district,
      '--database',
      tokenDb,
      '--json',
    ]);
    expect(r.code).toBe(0);
    expect((JSON.parse(r.stdout) as { status: string }).status).toBe('succeeded');
    const none = await cli(['sync', '--clever-url', sim.url, '--database', tokenDb]);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/clever\.token: no token given/);
  });

  it('runs itself with a capped heap and an initial old space of a quarter of the cap', async () => {
    // A preload that reports each process's own flags: the CLI's, then its child's.
    const preload = join(dir, 'print-flags.cjs');
    writeFileSync(preload, 'process.stderr.write("flags " + JSON.stringify(process.execArgv) + "\\n");\n');
    const flags = async (env: Record<string, string>) => {
      const r = await run(process.execPath, ['bin/rostersync.js', '--version'], {
        env: { ...process.env, ...env, NODE_OPTIONS: `--require ${preload}` },
      });
      return r.stderr
        .split('\n')
        .filter((l) => l.startsWith('flags '))
        .map((l) => JSON.parse(l.slice(6)) as string[]);
    };
    // The CLI, then its child (and any thread the child starts, with the same flags).
    const [parent, ...child] = await flags({ ROSTERSYNC_HEAP_MB: '200' });
    expect(parent).not.toContainEqual(expect.stringMatching(/old-space/));
    expect(child.length).toBeGreaterThan(0);
    for (const c of child)
      expect(c).toEqual(expect.arrayContaining(['--max-old-space-size=200', '--initial-old-space-size=50']));
    // Off: no child at all.
    const off = await flags({ ROSTERSYNC_HEAP_MB: '0' });
    for (const f of off) expect(f).not.toContainEqual(expect.stringMatching(/old-space/));
  });

  it('names a bad configuration key and exits 1', async () => {
    const r = await cli(['status', '--database', 'mysql://nope']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: database: /);
    const r2 = await cli(['sync', '--clever-url', 'not a url', '--clever-token', 'x', '--database', db]);
    expect(r2.code).toBe(1);
    expect(r2.stderr).toMatch(/clever\.url/);
  });
});
