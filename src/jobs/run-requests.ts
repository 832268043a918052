import { setTimeout as sleep } from 'node:timers/promises';
import { RostersyncError } from '../shared/errors.js';
import type { Store } from '../store/store.js';
import { exitCodeFor } from '../sync/run-report.js';
import type { RunStatus } from '../model/run.js';
import type { RunRequest } from '../store/queries/service.js';

export interface StartRunsOptions {
  district?: string | undefined;
  all: boolean;
  /** Wait until the runs end. Default false: return once asked. */
  wait: boolean;
  /** How often the requests are looked at while waiting (ms). Default 500. */
  pollMs?: number;
}

/**
 * Asks the serving process to run one district now (the API's "run now"); a request already
 * queued for the district is returned instead of a second one.
 */
export async function requestDistrictRun(store: Store, district: string): Promise<RunRequest> {
  if (!(await store.districts.get(district)))
    throw new RostersyncError('not_found', `district ${district} does not exist`);
  return store.service.requestRun(district, 'manual');
}

/**
 * `runs start`: leaves a run request per district in the store for the serving process, which runs
 * it like a scheduled run (a person's ask also clears "needs attention"). Returns the exit code:
 * 0 once asked, or with `wait` the worst of the runs' (0 succeeded, 2 held, 1 otherwise).
 */
export async function startRuns(
  store: Store,
  opts: StartRunsOptions,
  print: (line: string) => void,
): Promise<number> {
  if (opts.all === (opts.district !== undefined))
    throw new RostersyncError('input', 'give either --district ID or --all');
  const districts = opts.all ? (await store.districts.list()).map((d) => d.id) : [opts.district!];
  const requests = [];
  for (const d of districts) {
    const r = await requestDistrictRun(store, d);
    requests.push(r);
    print(`district ${d}: run requested (${r.id})`);
  }
  if (!opts.wait) return 0;
  let code = 0;
  for (const r of requests) {
    for (;;) {
      const now = await store.service.getRequest(r.id);
      if (!now) throw new RostersyncError('not_found', `run request ${r.id} disappeared`);
      if (now.state === 'done') {
        print(
          `district ${r.district}: ${now.status}${now.runId ? ` run ${now.runId}` : ''}${now.reason ? ` (${now.reason})` : ''}`,
        );
        const c = now.status === 'skipped' ? 1 : exitCodeFor(now.status as RunStatus);
        if (c === 1 || (c === 2 && code === 0)) code = c;
        break;
      }
      await sleep(opts.pollMs ?? 500);
    }
  }
  return code;
}
