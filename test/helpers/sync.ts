import { loadConfig } from '../../src/config.js';
import type { Config } from '../../src/config.js';
import { silentLogger } from '../../src/shared/logger.js';
import { afterAll, beforeAll } from 'vitest';
import { startCleverSimulator } from '../../src/simulator/index.js';
import type { CleverSimulator } from '../../src/simulator/index.js';
import type { Store } from '../../src/store/store.js';
import { syncFromClever } from '../../src/sync/clever-sync.js';
import type { RunReport } from '../../src/sync/run-report.js';
import type { SyncKindRequest } from '../../src/sync/sync-kind.js';

export function simConfig(sim: CleverSimulator, extra: Record<string, unknown> = {}): Config {
  return loadConfig({
    env: {},
    file: '/dev/null',
    overrides: { 'clever.url': sim.url, 'clever.pageSize': 500, ...extra },
  });
}

/** One Clever sync of the simulator's first district into `store`, with fast retries. */
export function syncSim(
  store: Store,
  sim: CleverSimulator,
  opts: {
    token?: string;
    mode?: 'sync' | 'plan';
    kind?: SyncKindRequest;
    district?: string;
    config?: Record<string, unknown>;
  } = {},
): Promise<RunReport> {
  return syncFromClever({
    store,
    config: simConfig(sim, opts.config),
    logger: silentLogger(),
    token: opts.token ?? sim.token,
    retryBaseMs: 5,
    ...(opts.mode ? { mode: opts.mode } : {}),
    ...(opts.kind ? { kind: opts.kind } : {}),
    ...(opts.district ? { district: opts.district } : {}),
  });
}

/** Starts a simulator before a suite's tests, hands it to `use`, and closes it after them. */
export function withSimulator(
  opts: Parameters<typeof startCleverSimulator>[0],
  use: (sim: CleverSimulator) => void,
): void {
  let started: CleverSimulator | undefined;
  beforeAll(async () => {
    started = await startCleverSimulator(opts);
    use(started);
  });
  afterAll(async () => {
    await started?.close();
  });
}
