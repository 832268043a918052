import type { Logger } from '../shared/logger.js';
import type { Store } from '../store/store.js';
import { DropFolder } from '../sync/drop-folder.js';

export interface CsvDropWatcherOptions {
  store: Store;
  logger: Logger;
  /** How often the folders are looked into (ms). */
  pollMs: number;
  /** How long a drop's files must stay unchanged before it is imported (ms). */
  settleMs: number;
  /** Asks for a run of the district, through the same runner as its schedule. */
  onDrop: (district: string) => void;
}

/**
 * `serve`'s eye on the drop folders of CSV districts: every `pollMs` it looks into each one's
 * automated/ and, when a settled drop waits there, asks for a run of the district. It moves nothing
 * itself: the run (runDistrictJob, in this process or on a worker) takes the drop, so a drop is
 * imported by the same path, one run per district at a time, as a scheduled run. An ask while a run
 * is queued joins it, and a running import has already moved its files out of automated/, so a drop
 * is asked for once. Districts that need attention are left to a person.
 */
export class CsvDropWatcher {
  private timer: NodeJS.Timeout | null = null;
  private looking: Promise<void> = Promise.resolve();
  /** Folders whose subfolders exist (made on first sight, so the uploader finds automated/). */
  private readonly made = new Set<string>();
  /** Folders already reported unusable, so that one is logged once, not every poll. */
  private readonly unreadable = new Set<string>();

  constructor(private readonly opts: CsvDropWatcherOptions) {}

  start(): void {
    this.timer = setInterval(() => {
      this.looking = this.looking
        .then(() => this.look())
        .catch((err: unknown) => this.opts.logger.error({ err }, 'looking into CSV drop folders failed'));
    }, this.opts.pollMs);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.looking;
  }

  /** One look into every CSV district's folder. */
  async look(): Promise<void> {
    for (const s of await this.opts.store.service.list()) {
      if (!s.csvFolder || s.attention) continue;
      const folder = new DropFolder({
        root: s.csvFolder,
        store: this.opts.store,
        settleMs: this.opts.settleMs,
      });
      let waiting;
      try {
        if (!this.made.has(s.csvFolder)) {
          await folder.init();
          this.made.add(s.csvFolder);
        }
        waiting = await folder.waiting();
        this.unreadable.delete(s.csvFolder);
      } catch (err) {
        if (!this.unreadable.has(s.csvFolder))
          this.opts.logger.warn(
            { err, district: s.district, folder: s.csvFolder },
            'cannot use the CSV drop folder',
          );
        this.unreadable.add(s.csvFolder);
        continue;
      }
      if (waiting?.settled) this.opts.onDrop(s.district);
    }
  }
}
