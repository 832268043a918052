#!/usr/bin/env node
// Installed entry point. Runs the compiled CLI when built (npm run build), otherwise the TypeScript
// sources through tsx, so `./bin/rostersync.js` works in a fresh clone without a build step.
//
// Memory: a sync's live data is about 100 MB, but V8 lets a busy heap grow far past that before it
// collects (measured: RSS peaks of 450-580 MB during a 200k-student sync, 266 MB with a cap). So the
// CLI runs itself once more with --max-old-space-size (default 384 MB; ROSTERSYNC_HEAP_MB to change,
// or give the flag yourself in NODE_OPTIONS, or set ROSTERSYNC_HEAP_MB=0 to leave Node's default).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';

const HEAP_FLAG = '--max-old-space-size';
const heapMb = process.env.ROSTERSYNC_HEAP_MB ?? '384';
const flagGiven =
  process.execArgv.some((a) => a.startsWith(HEAP_FLAG)) ||
  (process.env.NODE_OPTIONS ?? '').includes(HEAP_FLAG);

if (!flagGiven && heapMb !== '0' && process.env.ROSTERSYNC_CHILD !== '1') {
  const child = spawn(
    process.execPath,
    [...process.execArgv, `${HEAP_FLAG}=${heapMb}`, fileURLToPath(import.meta.url), ...process.argv.slice(2)],
    { stdio: 'inherit', env: { ...process.env, ROSTERSYNC_CHILD: '1' } },
  );
  // A terminal delivers Ctrl-C to the whole process group, child included; forward only what a
  // supervisor sends to this pid (and SIGINT when there is no terminal to do it).
  const forward = (sig) => () => child.kill(sig);
  process.on('SIGTERM', forward('SIGTERM'));
  process.on('SIGHUP', forward('SIGHUP'));
  process.on('SIGINT', process.stdin.isTTY ? () => undefined : forward('SIGINT'));
  child.on('exit', (code, signal) => {
    if (signal) {
      process.removeAllListeners(signal);
      process.kill(process.pid, signal);
    } else process.exit(code ?? 1);
  });
} else {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..');
  const compiled = join(root, 'dist', 'cli', 'main.js');
  if (existsSync(compiled)) {
    await import(pathToFileURL(compiled).href);
  } else {
    const { register } = await import('tsx/esm/api');
    register();
    await import(pathToFileURL(join(root, 'src', 'cli', 'main.ts')).href);
  }
}
