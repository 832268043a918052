import { hash2, unit } from './prng.js';
import type { FaultKind, FaultOptions } from './types.js';

// Deterministic fault injection for data requests. Request n of the fault sequence (counted from
// the last setFaults) faults when hash(seed, n) < rate, with a kind drawn from a second hash, so a
// client issuing the same requests in the same order sees the same faults. A '429' opens a short
// burst: later data requests keep getting 429 until the burst's reset time (1-2 s ahead on the
// injected clock) or until the burst's few extra answers are spent, whichever comes first.

export const ALL_FAULT_KINDS: readonly FaultKind[] = [
  '500',
  '502',
  '503',
  '429',
  'reset',
  'truncated',
  'slow',
];
export const DEFAULT_SLOW_MS = 1500;

export interface FaultDecision {
  kind: FaultKind;
  /** For '429': when the burst ends, ms on the injected clock. */
  resetMs: number;
}

export class FaultInjector {
  private opts: FaultOptions | null = null;
  private seq = 0;
  private burstUntil = 0;
  private burstLeft = 0;

  constructor(
    opts: FaultOptions | null,
    private readonly now: () => number,
  ) {
    this.set(opts);
  }

  set(opts: FaultOptions | null): void {
    this.opts = opts && opts.rate > 0 ? opts : null;
    this.seq = 0;
    this.burstUntil = 0;
    this.burstLeft = 0;
  }

  get slowMs(): number {
    return this.opts?.slowMs ?? DEFAULT_SLOW_MS;
  }

  /** The fault for the next data request, or null. */
  next(): FaultDecision | null {
    const o = this.opts;
    if (!o) return null;
    const n = this.seq++;
    const now = this.now();
    if (this.burstLeft > 0 && now < this.burstUntil) {
      this.burstLeft--;
      return { kind: '429', resetMs: this.burstUntil };
    }
    this.burstLeft = 0;
    const seed = o.seed ?? 1;
    const h = hash2(seed, n);
    if (unit(h) >= o.rate) return null;
    const kinds = o.kinds && o.kinds.length > 0 ? o.kinds : ALL_FAULT_KINDS;
    const kind = kinds[hash2(seed ^ 0x6b1d, n) % kinds.length] as FaultKind;
    if (kind === '429') {
      this.burstUntil = now + 1000 + (h % 1000);
      this.burstLeft = 1 + (h % 3);
      return { kind, resetMs: this.burstUntil };
    }
    return { kind, resetMs: 0 };
  }
}
