import { mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { errorMessage, isRostersyncError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import { silentLogger } from '../shared/logger.js';
import type { Store } from '../store/store.js';
import { importCsv } from './csv-import.js';
import type { RunReport } from './run-report.js';

/**
 * An SFTP-style drop folder:
 *   ROOT/automated/   files dropped here are imported automatically, once complete
 *   ROOT/other/       files that wait for review (never processed automatically)
 *   ROOT/processing/  a batch being imported
 *   ROOT/archive/YYYY-MM-DD/<time>/   processed files with result.json and result.txt beside them
 * A file is complete when its size and modification time have not changed for `settleMs`; a batch
 * starts when every file in automated/ is complete, so the three files of one nightly drop are
 * imported together (schools first).
 */
export interface DropFolderOptions {
  root: string;
  store: Store;
  district?: string;
  logger?: Logger;
  /** How long a file must stay unchanged to count as fully uploaded (ms). Default 15000. */
  settleMs?: number;
  lockStaleMs?: number;
  now?: () => Date;
}

export interface ProcessedDrop {
  /** Where the files are now: the batch's archive folder, or automated/ when it was interrupted. */
  folder: string;
  files: string[];
  report: RunReport;
  /**
   * The import was stopped (the process is shutting down) before it finished: its files went back
   * to automated/, so the next look imports the drop again and that run finishes the stopped one.
   */
  interrupted: boolean;
}

export class DropFolder {
  private readonly seen = new Map<string, { size: number; mtimeMs: number; since: number }>();
  private readonly logger: Logger;

  constructor(private readonly opts: DropFolderOptions) {
    this.logger = opts.logger ?? silentLogger();
  }

  private now(): Date {
    return this.opts.now?.() ?? new Date();
  }

  async init(): Promise<void> {
    for (const d of ['automated', 'other', 'processing', 'archive'])
      await mkdir(join(this.opts.root, d), { recursive: true });
  }

  /**
   * One look at automated/: imports a batch when every file in it has settled. Once `signal` aborts,
   * an import in progress stops after its current batch (see {@link ProcessedDrop.interrupted}).
   */
  async tick(signal?: AbortSignal): Promise<ProcessedDrop | null> {
    const dir = join(this.opts.root, 'automated');
    const names = (await readdir(dir)).filter((n) => !n.startsWith('.'));
    const now = this.now().getTime();
    if (names.length === 0) {
      this.seen.clear();
      return null;
    }
    let allSettled = true;
    for (const name of names) {
      const st = await stat(join(dir, name)).catch(() => null);
      if (!st?.isFile()) continue;
      const prev = this.seen.get(name);
      if (!prev || prev.size !== st.size || prev.mtimeMs !== st.mtimeMs) {
        this.seen.set(name, { size: st.size, mtimeMs: st.mtimeMs, since: now });
        allSettled = false;
      } else if (now - prev.since < (this.opts.settleMs ?? 15_000)) {
        allSettled = false;
      }
    }
    for (const name of [...this.seen.keys()]) if (!names.includes(name)) this.seen.delete(name);
    if (!allSettled) return null;
    return this.process(names, signal);
  }

  /**
   * The drop waiting in automated/, judged without memory of earlier looks (the job that imports it
   * may run in another process than the one that saw it arrive): its files, and whether every one
   * has been left unchanged for `settleMs` by its modification time. Null when automated/ is empty.
   */
  async waiting(): Promise<{ files: string[]; settled: boolean } | null> {
    const dir = join(this.opts.root, 'automated');
    const names = (await readdir(dir)).filter((n) => !n.startsWith('.'));
    if (names.length === 0) return null;
    const now = this.now().getTime();
    let settled = true;
    for (const name of names) {
      const st = await stat(join(dir, name)).catch(() => null);
      if (st?.isFile() && now - st.mtimeMs < (this.opts.settleMs ?? 15_000)) settled = false;
    }
    return { files: names, settled };
  }

  /**
   * Imports the drop waiting in automated/ when it has settled (see {@link waiting}); else null.
   * `signal` stops the import as in {@link tick}.
   */
  async takeSettled(signal?: AbortSignal): Promise<ProcessedDrop | null> {
    const w = await this.waiting();
    return w?.settled ? this.process(w.files, signal) : null;
  }

  private async process(names: string[], signal: AbortSignal | undefined): Promise<ProcessedDrop> {
    const at = this.now();
    const stamp = at.toISOString().replace(/[:.]/g, '-');
    const work = join(this.opts.root, 'processing', stamp);
    await mkdir(work, { recursive: true });
    for (const n of names) await rename(join(this.opts.root, 'automated', n), join(work, n));
    this.seen.clear();
    this.logger.info({ files: names, batch: stamp }, 'drop folder: importing a batch');
    let report: RunReport;
    try {
      report = await importCsv({
        store: this.opts.store,
        dir: work,
        logger: this.logger,
        ...(this.opts.district ? { district: this.opts.district } : {}),
        ...(this.opts.lockStaleMs !== undefined ? { lockStaleMs: this.opts.lockStaleMs } : {}),
        ...(signal ? { signal } : {}),
      });
    } catch (err) {
      // No run report (e.g. no district given while the store holds several): the batch is still
      // archived with the reason beside it, never left behind in processing/.
      const reason = isRostersyncError(err) ? `${err.code}: ${err.message}` : errorMessage(err);
      await writeFile(
        join(work, 'result.json'),
        JSON.stringify({ status: 'failed', reason }, null, 2) + '\n',
      );
      await writeFile(join(work, 'result.txt'), `failed: ${reason}\n`);
      await rename(work, await this.archiveFolder(at, stamp));
      throw err;
    }
    if (report.status === 'failed' && report.reason?.startsWith('cancelled:')) {
      const back = await this.putBack(work, names);
      if (back) {
        this.logger.info(
          { batch: stamp, run: report.runId },
          'drop folder: import stopped; the drop waits for the next run',
        );
        return { folder: back, files: names, report, interrupted: true };
      }
    }
    await writeFile(join(work, 'result.json'), JSON.stringify(report, null, 2) + '\n');
    await writeFile(
      join(work, 'result.txt'),
      `${report.status}${report.reason ? `: ${report.reason}` : ''}\nrun ${report.runId}\nproblems: ${report.problemCount}\n`,
    );
    const folder = await this.archiveFolder(at, stamp);
    await rename(work, folder);
    this.logger.info({ batch: stamp, status: report.status, run: report.runId }, 'drop folder: batch done');
    return { folder, files: names, report, interrupted: false };
  }

  /**
   * Moves an interrupted batch's files back to automated/ (keeping their modification times, so the
   * drop counts as settled at once). A newer drop that arrived meanwhile with a file of the same name
   * wins: then nothing moves and the interrupted batch is archived with its result. Returns
   * automated/, or null when the batch stays to be archived.
   */
  private async putBack(work: string, names: string[]): Promise<string | null> {
    const automated = join(this.opts.root, 'automated');
    const present = new Set(await readdir(automated));
    if (names.some((n) => present.has(n))) return null;
    for (const n of names) await rename(join(work, n), join(automated, n));
    await rm(work, { recursive: true, force: true });
    return automated;
  }

  private async archiveFolder(at: Date, stamp: string): Promise<string> {
    const day = join(this.opts.root, 'archive', at.toISOString().slice(0, 10));
    await mkdir(day, { recursive: true });
    return join(day, stamp.slice(11));
  }

  /** Polls every `pollMs` (default 5000) until `signal` aborts. */
  async run(
    signal: AbortSignal,
    pollMs = 5000,
    onDrop?: (d: ProcessedDrop) => void | Promise<void>,
  ): Promise<void> {
    await this.init();
    while (!signal.aborted) {
      try {
        const d = await this.tick(signal);
        if (d) await onDrop?.(d);
      } catch (err) {
        this.logger.error({ err }, 'drop folder: tick failed');
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, pollMs);
        signal.addEventListener(
          'abort',
          () => {
            clearTimeout(t);
            resolve();
          },
          { once: true },
        );
      });
    }
  }
}
