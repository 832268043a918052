#!/usr/bin/env node
// Installed entry point. Runs the compiled CLI (dist/cli/main.js) when built (npm run build),
// otherwise the TypeScript sources through tsx, so `./bin/rostersync.js` works in a fresh clone
// without a build step. Either way it calls `main(argv)` and exits with the code that resolves to.
//
// Memory: a sync's live data is far smaller than V8 lets a busy heap grow before it collects, so the
// CLI runs itself once more with --max-old-space-size (default 384 MB; ROSTERSYNC_HEAP_MB to change,
// or give the flag yourself in NODE_OPTIONS, or set ROSTERSYNC_HEAP_MB=0 to leave Node's default).
//
// With it goes --initial-old-space-size, a quarter of the cap (96 MB by default): below that V8 does
// not run full collections. Without it, the old generation of a sync (each page's large strings and
// buffers coming and going) is collected in full over and over, which costs a first sync much
// main-thread CPU; the flag trades that for a somewhat higher peak RSS. Figures: docs/benchmarks.md.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';

const HEAP_FLAG = '--max-old-space-size';
const INITIAL_FLAG = '--initial-old-space-size';
const heapMb = process.env.ROSTERSYNC_HEAP_MB ?? '384';
const given = (flag) =>
  process.execArgv.some((a) => a.startsWith(flag)) || (process.env.NODE_OPTIONS ?? '').includes(flag);
const flagGiven = given(HEAP_FLAG);
const initialMb = Math.floor(Number(heapMb) / 4);
/** V8's flags carry no stability promise: a Node whose V8 does not know this one runs without it. */
const knowsInitialFlag = () =>
  spawnSync(process.execPath, [`${INITIAL_FLAG}=1`, '-e', ''], { stdio: 'ignore' }).status === 0;

if (!flagGiven && heapMb !== '0' && process.env.ROSTERSYNC_CHILD !== '1') {
  const initialFlags =
    initialMb > 0 && !given(INITIAL_FLAG) && knowsInitialFlag() ? [`${INITIAL_FLAG}=${initialMb}`] : [];
  const child = spawn(
    process.execPath,
    [
      ...process.execArgv,
      `${HEAP_FLAG}=${heapMb}`,
      ...initialFlags,
      fileURLToPath(import.meta.url),
      ...process.argv.slice(2),
    ],
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
  let entry = compiled;
  if (!existsSync(compiled)) {
    const { register } = await import('tsx/esm/api');
    register();
    entry = join(root, 'src', 'cli', 'main.ts');
  }
  const { main } = await import(pathToFileURL(entry).href);
  process.exitCode = await main(process.argv.slice(2));
}
