// Serving throughput and memory of the Clever simulator: pages /users at limit=10000 over HTTP
// through a large district (default 1,000,000 students) and prints one JSON line.
//
//   npx tsx bench/sim-serve-bench.ts [--students 1000000] [--limit 10000] [--version v3.0]
//                                    [--max-users N] [--in-process]
//
// By default the simulator runs in a worker thread and this thread is a lean client (node:http,
// bodies kept as bytes, items counted with Buffer.indexOf, the next link cut from the tail), so
// the figure is the simulator's serving rate rather than a JSON parser's. --in-process runs both
// on one thread (client and server then share one core and one event loop). RSS is the process total
// (both threads), sampled every 20 ms; the per-25-pages samples show that it stays flat.
// serverUsersPerSecond divides by the summed time-to-first-byte only: the simulator renders a whole
// page before it sends the head, so that is its page-building rate without the client's share.
import { request, Agent } from 'node:http';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { startCleverSimulator } from '../src/simulator/index.js';
import type { CleverSimulator } from '../src/simulator/index.js';

interface WorkerReady {
  url: string;
  token: string;
  expectedUsers: number;
  startMs: number;
}

const MB = 1024 * 1024;

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? (process.argv[i + 1] as string) : dflt;
}

async function startServer(students: number): Promise<{ sim: CleverSimulator; ready: WorkerReady }> {
  const t0 = performance.now();
  const sim = await startCleverSimulator({ students, rateLimit: { limit: 1_000_000_000, windowMs: 60_000 } });
  const startMs = Math.round(performance.now() - t0);
  const t = sim.truth();
  return {
    sim,
    ready: {
      url: sim.url,
      token: sim.token,
      expectedUsers: t.students + t.contacts + t.staffPeople,
      startMs,
    },
  };
}

/** GET as bytes; `ttfb` gets the ms until the response head arrived (the server builds a page fully before sending). */
function fetchBytes(agent: Agent, url: string, token: string, ttfb: { ms: number }): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const req = request(url, { agent, headers: { Authorization: `Bearer ${token}` } }, (res) => {
      ttfb.ms += performance.now() - t0;
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        res.statusCode === 200 ? resolve(Buffer.concat(chunks)) : reject(new Error(`HTTP ${res.statusCode}`)),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

async function main(): Promise<void> {
  const students = Number(arg('students', '1000000'));
  const limit = Number(arg('limit', '10000'));
  const version = arg('version', 'v3.0');
  const maxUsers = Number(arg('max-users', String(Number.MAX_SAFE_INTEGER)));
  const inProcess = process.argv.includes('--in-process');

  const rssBeforeStart = process.memoryUsage().rss;
  let ready: WorkerReady;
  let stop: () => Promise<void>;
  if (inProcess) {
    const s = await startServer(students);
    ready = s.ready;
    stop = () => s.sim.close();
  } else {
    // The worker registers tsx's loader itself before importing this file (a worker's execArgv
    // cannot carry the loader hooks on Node 20).
    const boot = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((m) => { m.register(); return import(${JSON.stringify(import.meta.url)}); });`;
    const worker = new Worker(boot, { eval: true, workerData: { students } });
    ready = await new Promise<WorkerReady>((resolve, reject) => {
      worker.once('message', (m: WorkerReady) => resolve(m));
      worker.once('error', reject);
    });
    stop = async () => {
      worker.postMessage('stop');
      await new Promise((r) => worker.once('exit', r));
    };
  }
  const rssStart = process.memoryUsage().rss;
  let peak = rssStart;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 20);

  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const itemMarker = Buffer.from(`"uri":"/${version}/users/`);
  const nextMarker = '{"rel":"next","uri":"';
  let next: string | null = `/${version}/users?limit=${limit}`;
  let users = 0;
  let pages = 0;
  let bytes = 0;
  const rssEvery25: number[] = [];
  const ttfb = { ms: 0 };
  const t1 = performance.now();
  while (next && users < maxUsers) {
    const body = await fetchBytes(agent, ready.url + next, ready.token, ttfb);
    bytes += body.length;
    for (let i = body.indexOf(itemMarker); i >= 0; i = body.indexOf(itemMarker, i + itemMarker.length))
      users++;
    const tail = body.subarray(Math.max(0, body.length - 2048)).toString('utf8');
    const n = tail.lastIndexOf(nextMarker);
    next = n >= 0 ? tail.slice(n + nextMarker.length, tail.indexOf('"', n + nextMarker.length)) : null;
    pages++;
    if (pages % 25 === 0) rssEvery25.push(Math.round(process.memoryUsage().rss / MB));
  }
  const seconds = (performance.now() - t1) / 1000;
  clearInterval(sampler);
  const rssEnd = process.memoryUsage().rss;
  agent.destroy();
  await stop();

  process.stdout.write(
    JSON.stringify({
      mode: inProcess ? 'in-process' : 'worker-thread server',
      students,
      version,
      limit,
      users,
      expectedUsers: ready.expectedUsers,
      complete: users === ready.expectedUsers,
      pages,
      seconds: Number(seconds.toFixed(2)),
      usersPerSecond: Math.round(users / seconds),
      // Users per second of time-to-first-byte: the server's page-building rate alone.
      serverUsersPerSecond: Math.round(users / (ttfb.ms / 1000)),
      mbPerSecond: Number((bytes / MB / seconds).toFixed(1)),
      startMs: ready.startMs,
      rssBeforeStartMb: Math.round(rssBeforeStart / MB),
      rssStartMb: Math.round(rssStart / MB),
      rssEndMb: Math.round(rssEnd / MB),
      peakRssMb: Math.round(peak / MB),
      rssEvery25PagesMb: rssEvery25,
    }) + '\n',
  );
}

if (isMainThread) {
  await main();
} else {
  const { students } = workerData as { students: number };
  const { sim, ready } = await startServer(students);
  parentPort?.postMessage(ready);
  parentPort?.once('message', () => {
    void sim.close().then(() => process.exit(0));
  });
}
