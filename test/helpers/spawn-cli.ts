import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';

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
