import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Store } from '../../src/store/store.js';

/**
 * Starts `rostersync <args>` (bin/rostersync.js, as a user runs it) and resolves once it printed a
 * line matching `ready` on stdout; throws when it exits first or prints nothing matching within 30 s.
 */
export async function startCli(args: string[], env: Record<string, string>, ready: RegExp) {
  const child = spawn(process.execPath, ['bin/rostersync.js', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ROSTERSYNC_LOG_LEVEL: 'info', ROSTERSYNC_HEAP_MB: '0', ...env },
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr.on('data', (b: Buffer) => (err += b.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  for (let i = 0; i < 600 && !ready.test(out); i++) {
    if (child.exitCode !== null) throw new Error(`exited ${child.exitCode}: ${err}`);
    await sleep(50);
  }
  const m = ready.exec(out);
  if (!m) throw new Error(`not ready: ${out} ${err}`);
  /**
   * Sends `signal` and waits for the exit code; a process still running after `withinMs` fails the
   * test with the end of what it printed, instead of the test timing out with nothing to go on.
   */
  const stop = async (signal: NodeJS.Signals, withinMs = 120_000): Promise<number | null> => {
    child.kill(signal);
    const timer = sleep(withinMs).then(() => 'late' as const);
    const r = await Promise.race([exited, timer]);
    if (r === 'late')
      throw new Error(`still running ${withinMs} ms after ${signal}; its stderr ends:\n${err.slice(-4000)}`);
    return r;
  };
  return { child, match: m, exited, stop, output: () => ({ out, err }) };
}

type Checkpoints = Awaited<ReturnType<Store['checkpoints']['list']>>;

/**
 * Runs `rostersync sync <args> --json --no-progress` and kills it (SIGKILL: no cleanup at all) once
 * `store` shows checkpoints of `district` that satisfy `when` (or after 30 s); resolves with its exit
 * code, null when the kill ended it.
 */
export async function killSyncWhen(
  store: Store,
  district: string,
  args: string[],
  when: (checkpoints: Checkpoints) => boolean,
): Promise<number | null> {
  const child = spawn(process.execPath, ['bin/rostersync.js', 'sync', ...args, '--json', '--no-progress'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ROSTERSYNC_LOG_LEVEL: 'silent', ROSTERSYNC_HEAP_MB: '0' },
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  for (let i = 0; i < 600; i++) {
    if (when(await store.checkpoints.list(district).catch(() => []))) break;
    await sleep(50);
  }
  child.kill('SIGKILL');
  return exited;
}
