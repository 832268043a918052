import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/shared/logger.js';
import { startCleverSimulator } from '../../src/simulator/index.js';
import type { CleverSimulator } from '../../src/simulator/index.js';
import { Store } from '../../src/store/store.js';
import { syncFromClever } from '../../src/sync/clever-sync.js';
import { simConfig } from '../helpers/sync.js';

const run = promisify(execFile);

describe('a retry budget fails a run within its time, naming the cause', () => {
  let sim: CleverSimulator;
  let dir: string;
  beforeAll(async () => {
    sim = await startCleverSimulator({ seed: 5, students: 50 });
    dir = mkdtempSync(join(tmpdir(), 'rostersync-retry-budget-'));
  });
  afterAll(async () => {
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('clever.maxRetryTimeMs stops retrying a failing request once spent', async () => {
    sim.setFaults({ rate: 1, kinds: ['503'] });
    const store = await Store.open({ location: join(dir, 'lib.db') });
    try {
      const timeoutMs = 1000;
      // Enough retries that only the budget can end them within the test's time.
      const config = simConfig(sim, {
        'clever.maxRetries': 50,
        'clever.timeoutMs': timeoutMs,
        'clever.maxRetryTimeMs': 2000,
      });
      const t0 = Date.now();
      const report = await syncFromClever({ store, config, logger: silentLogger(), token: sim.token });
      const elapsed = Date.now() - t0;
      expect(report.status).toBe('failed');
      expect(report.reason).toMatch(/^upstream: clever \/v3\.0\/districts: HTTP 503/);
      expect(report.reason).toMatch(/gave up after \d+\.\d s of retries \(retry budget 2 s/);
      expect(elapsed).toBeLessThan(2000 + timeoutMs);
    } finally {
      sim.setFaults(null);
      await store.close();
    }
  });

  it('an interactive `sync --max-retry-time 2` fails within seconds and says why', async () => {
    sim.setFaults({ rate: 1, kinds: ['502'] });
    try {
      const args = [
        'bin/rostersync.js',
        'sync',
        '--clever-url',
        sim.url,
        '--clever-token',
        sim.token,
        '--database',
        join(dir, 'cli.db'),
        '--max-retry-time',
        '2',
        '--json',
      ];
      const t0 = Date.now();
      const r = await run(process.execPath, args, {
        env: { ...process.env, ROSTERSYNC_LOG_LEVEL: 'silent', ROSTERSYNC_CLEVER_MAX_RETRIES: '50' },
      }).then(
        (ok) => ({ code: 0, stdout: ok.stdout }),
        (err: { code: number; stdout: string }) => ({ code: err.code, stdout: err.stdout }),
      );
      const elapsed = Date.now() - t0;
      expect(r.code).toBe(1);
      const report = JSON.parse(r.stdout) as { status: string; reason: string };
      expect(report.status).toBe('failed');
      expect(report.reason).toMatch(/HTTP 502.*retry budget 2 s: --max-retry-time/);
      // Two seconds of budget plus the process start-up (slow under load); 50 patient retries take minutes.
      expect(elapsed).toBeLessThan(20_000);
    } finally {
      sim.setFaults(null);
    }
  });
});
