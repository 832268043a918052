// Clever's limit is a fixed window per bearer token (1200 requests per minute by default): the
// allowance resets at the window boundary rather than trickling back. Windows are aligned to
// multiples of windowMs on the injected clock, so tests can step the clock past a boundary.

export interface RateDecision {
  allowed: boolean;
  headers: Record<string, string>;
}

export class RateLimiter {
  private readonly buckets = new Map<string, { start: number; count: number }>();

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
    private readonly now: () => number,
  ) {}

  /** Counts one request against `bucket` and reports whether it may proceed. */
  take(bucket: string): RateDecision {
    const now = this.now();
    const start = Math.floor(now / this.windowMs) * this.windowMs;
    let b = this.buckets.get(bucket);
    if (!b || b.start !== start) {
      b = { start, count: 0 };
      this.buckets.set(bucket, b);
    }
    b.count++;
    return {
      allowed: b.count <= this.limit,
      headers: this.headers(Math.max(0, this.limit - b.count), start + this.windowMs),
    };
  }

  /** Headers describing `bucket` without counting a request (for responses that do not consume). */
  peek(bucket: string): Record<string, string> {
    const now = this.now();
    const start = Math.floor(now / this.windowMs) * this.windowMs;
    const b = this.buckets.get(bucket);
    const used = b && b.start === start ? b.count : 0;
    return this.headers(Math.max(0, this.limit - used), start + this.windowMs);
  }

  headers(remaining: number, resetMs: number): Record<string, string> {
    return {
      'X-Ratelimit-Limit': String(this.limit),
      'X-Ratelimit-Remaining': String(remaining),
      // Unix seconds of the window end, as Clever sends it.
      'X-Ratelimit-Reset': String(Math.ceil(resetMs / 1000)),
    };
  }
}
