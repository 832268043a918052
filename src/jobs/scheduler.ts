import type { Schedule } from '../model/schedule.js';
import type { Logger } from '../shared/logger.js';
import { localStamp, nextFire } from './schedule.js';

export interface SchedulerOptions {
  /** Every district's schedule; read at start and every `reloadMs`, so store edits take effect. */
  schedules: () => Promise<Map<string, Schedule>>;
  /** Called once per due time of a district. */
  onDue: (district: string) => void;
  /** How often schedules are re-read (ms). Default 30000. */
  reloadMs?: number;
  logger?: Logger;
}

interface Entry {
  key: string;
  schedule: Schedule;
  next: Date | null;
  /** Local wall-clock time of the last fire, so a repeated time (DST fall-back) never fires twice. */
  lastLocal: string | null;
}

/**
 * Fires each district's schedule (croner expressions in IANA zones) with one timer. Times come from
 * the clock (`Date.now`, `setTimeout`), so tests drive it with fake timers. Fires missed while the
 * process was busy or asleep collapse into one; the next time is always computed after now.
 */
export class Scheduler {
  private readonly entries = new Map<string, Entry>();
  private timer: NodeJS.Timeout | null = null;
  private lastLoad = 0;
  private stopped = false;
  private readonly reloadMs: number;

  constructor(private readonly opts: SchedulerOptions) {
    this.reloadMs = opts.reloadMs ?? 30_000;
  }

  async start(): Promise<void> {
    await this.load();
    this.arm();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /** When each district fires next. */
  nextRuns(): Map<string, Date | null> {
    return new Map([...this.entries].map(([d, e]) => [d, e.next]));
  }

  private async load(): Promise<void> {
    this.lastLoad = Date.now();
    const schedules = await this.opts.schedules();
    const now = new Date();
    for (const d of [...this.entries.keys()]) if (!schedules.has(d)) this.entries.delete(d);
    for (const [d, s] of schedules) {
      const key = `${s.cron}@${s.timezone}`;
      const old = this.entries.get(d);
      if (old?.key === key) continue;
      try {
        this.entries.set(d, { key, schedule: s, next: nextFire(s, now), lastLocal: null });
      } catch (err) {
        this.opts.logger?.error(
          { err, district: d },
          'invalid schedule; the district does not run by itself',
        );
        this.entries.delete(d);
      }
    }
  }

  private arm(): void {
    if (this.stopped) return;
    const now = Date.now();
    let wait = this.lastLoad + this.reloadMs - now;
    for (const e of this.entries.values()) if (e.next) wait = Math.min(wait, e.next.getTime() - now);
    this.timer = setTimeout(() => void this.tick(), Math.max(0, wait));
  }

  private async tick(): Promise<void> {
    this.timer = null;
    if (this.stopped) return;
    try {
      if (Date.now() - this.lastLoad >= this.reloadMs) await this.load();
      const now = Date.now();
      for (const [d, e] of this.entries) {
        if (!e.next || e.next.getTime() > now) continue;
        e.lastLocal = localStamp(e.next, e.schedule.timezone);
        e.next = nextFire(e.schedule, new Date(Math.max(now, e.next.getTime())), e.lastLocal);
        this.opts.onDue(d);
      }
    } catch (err) {
      this.opts.logger?.error({ err }, 'scheduler tick failed; trying again at the next one');
    }
    this.arm();
  }
}
