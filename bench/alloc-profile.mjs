// Where a process allocates, counting the objects the garbage collector has already freed (a plain
// heap snapshot or --heap-prof sees only what is still alive, which for a sync is almost nothing of
// what it made). Two uses:
//
//   NODEFLAGS="--import ./bench/alloc-profile.mjs" bash bench/cpu-split.sh 100000
//       samples every thread that loads it (the main thread; a worker too, if its execArgv carries
//       the flag) and writes .tmp/alloc-<pid>-<thread>.json when the thread exits;
//   node bench/alloc-profile.mjs .tmp/alloc-<pid>-<thread>.json [N]
//       prints the N (default 30) functions that allocated most themselves, then the N project
//       functions that allocated most with their callees.
//
// Sampling is V8's (one sample per 16 KB allocated on average), so small figures are rough.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { isMainThread, threadId } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';

const mb = (bytes) => (bytes / 1e6).toFixed(0).padStart(6);
const where = (f) =>
  `${f.functionName || '(anonymous)'} ${f.url.replace(/.*\/(src|node_modules)\//, '$1/')}:${f.lineNumber + 1}:${f.columnNumber + 1}`;

function report(file, top) {
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const self = new Map();
  const total = new Map();
  let all = 0;
  const walk = (node, stack) => {
    const k = where(node.callFrame);
    self.set(k, (self.get(k) ?? 0) + node.selfSize);
    all += node.selfSize;
    const inner = stack.includes(k) ? stack : [...stack, k];
    for (const s of inner) total.set(s, (total.get(s) ?? 0) + node.selfSize);
    for (const c of node.children) walk(c, inner);
  };
  walk(profile.head, []);
  console.log(`${mb(all)} MB allocated in all (sampled)`);
  console.log('\nself MB, function');
  for (const [k, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(mb(v), k);
  console.log('\nwith callees MB, project function');
  const own = [...total].filter(([k]) => k.includes(' src/'));
  for (const [k, v] of own.sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(mb(v), k);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (!process.argv[2]) throw new Error('usage: node bench/alloc-profile.mjs PROFILE.json [N]');
  report(process.argv[2], Number(process.argv[3] ?? 30));
} else {
  const session = new Session();
  session.connect();
  session.post('HeapProfiler.enable');
  session.post('HeapProfiler.startSampling', {
    samplingInterval: 16384,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  });
  const out = `.tmp/alloc-${process.pid}-${isMainThread ? 'main' : threadId}.json`;
  process.on('exit', () => {
    // A session on the thread itself answers synchronously, so this runs before the exit.
    session.post('HeapProfiler.stopSampling', (err, result) => {
      if (err) return;
      mkdirSync('.tmp', { recursive: true });
      writeFileSync(out, JSON.stringify(result.profile));
      process.stderr.write(`allocation profile: ${out}\n`);
    });
  });
}
