import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { DecodeReply, DecodeRequest, DecodeResult, PageKind } from './page-decoder.js';

/**
 * A worker thread that decodes Clever pages (see page-decoder.ts), started on first use. Page bytes
 * are transferred to it, not copied; decoded pages come back as plain strings and arrays.
 *
 * From the TypeScript sources (tests, a clone without a build) the worker runs page-worker.ts
 * through tsx; from the build, page-worker.js. Its heap is capped: it holds one page at a time.
 */
export class DecoderThread {
  private worker: Worker | null = null;
  private nextId = 1;
  private readonly pending = new Map<
    number,
    { resolve: (r: DecodeReply) => void; reject: (e: Error) => void }
  >();

  /** Starts the worker now (loading it takes a moment), so the first page does not wait for it. */
  warm(): void {
    this.start();
  }

  /** Decodes a page in one step (see PageDecoder.decode). */
  async decode(bytes: Uint8Array, what: PageKind): Promise<DecodeResult> {
    const id = this.nextId++;
    return resultOf(await this.ask({ type: 'decode', id, bytes, what }, [bytes.buffer as ArrayBuffer]));
  }

  /**
   * The first of two steps: the page's items and raw hashes (see scanPage), or null. The worker keeps
   * the page under the returned handle until {@link finish} or {@link drop} is called with it.
   */
  async scan(
    bytes: Uint8Array,
    what: PageKind,
  ): Promise<{ handle: number; scan: { ids: Array<string | null>; raws: string } | null }> {
    const id = this.nextId++;
    const reply = await this.ask({ type: 'scan', id, bytes, what }, [bytes.buffer as ArrayBuffer]);
    if (!('scan' in reply)) throw new Error('clever page decoder: a scan got another reply');
    return { handle: id, scan: reply.scan };
  }

  /** The second step: the scanned page decoded without the items marked in `skip`. */
  async finish(handle: number, skip: Uint8Array | null): Promise<DecodeResult> {
    return resultOf(await this.ask({ type: 'finish', id: handle, skip }, []));
  }

  /** Forgets a scanned page that will not be finished. */
  drop(handle: number): void {
    this.worker?.postMessage({ type: 'drop', id: handle } satisfies DecodeRequest);
  }

  private ask(request: DecodeRequest, transfer: ArrayBuffer[]): Promise<DecodeReply> {
    const worker = this.start();
    return new Promise<DecodeReply>((resolve, reject) => {
      if (this.pending.size === 0) worker.ref(); // keeps the process alive while a page decodes
      this.pending.set(request.id, { resolve, reject });
      worker.postMessage(request, transfer);
    });
  }

  async close(): Promise<void> {
    const w = this.worker;
    this.worker = null;
    if (w) await w.terminate();
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    const fromSource = import.meta.url.endsWith('.ts');
    const url = new URL(fromSource ? './page-worker.ts' : './page-worker.js', import.meta.url);
    const options = { resourceLimits: { maxOldGenerationSizeMb: 96 } };
    // Loader hooks do not reach worker threads: from the sources, the worker registers tsx itself.
    const worker = withInheritedFlags((execArgv) =>
      fromSource
        ? new Worker(
            `import(${JSON.stringify(
              pathToFileURL(
                createRequire(import.meta.url)
                  .resolve('tsx/esm/api')
                  .replace(/\.cjs$/, '.mjs'),
              ).href,
            )})` + `.then((m) => { m.register(); return import(${JSON.stringify(url.href)}); })`,
            { ...options, execArgv, eval: true },
          )
        : new Worker(url, { ...options, execArgv }),
    );
    worker.on('message', (m: DecodeReply) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (this.pending.size === 0) worker.unref(); // an idle worker never holds the process open
      if ('crash' in m) p.reject(new Error(`clever page decoder failed: ${m.crash}`));
      else p.resolve(m);
    });
    const failAll = (err: Error) => {
      if (this.worker === worker) this.worker = null;
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
    worker.on('error', (err) => failAll(new Error(`clever page decoder stopped: ${err.message}`)));
    worker.on('exit', (code) => failAll(new Error(`clever page decoder exited (${code})`)));
    worker.unref();
    this.worker = worker;
    return worker;
  }
}

function resultOf(reply: DecodeReply): DecodeResult {
  if (!('result' in reply)) throw new Error('clever page decoder: a decode got another reply');
  return reply.result;
}

/**
 * Creates a worker with this process's Node flags (--cpu-prof, --import, …), but the heap sizes: the
 * worker's own are set through resourceLimits, and the main thread's initial old space (see
 * bin/rostersync.js) would only make the worker's heap larger for nothing. A worker refuses V8
 * flags (--max-semi-space-size, --stack-size, …; the heap cap is set through resourceLimits): the
 * ones it names are dropped and it is created again, so such a flag never fails a sync.
 */
function withInheritedFlags(create: (execArgv: string[]) => Worker): Worker {
  let execArgv = process.execArgv.filter(
    (a) => !a.startsWith('--max-old-space-size') && !a.startsWith('--initial-old-space-size'),
  );
  for (let attempt = 0; ; attempt++) {
    try {
      return create(execArgv);
    } catch (err) {
      const e = err as { code?: string; message?: string };
      if (e.code !== 'ERR_WORKER_INVALID_EXEC_ARGV' || attempt > 0) throw err;
      const refused = new Set((e.message ?? '').replace(/^[^:]*:\s*/, '').split(/,\s*/));
      const kept = execArgv.filter((a) => !refused.has(a));
      execArgv = kept.length < execArgv.length ? kept : [];
    }
  }
}
