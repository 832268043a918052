/**
 * The safety valve: before a run archives records (and so deactivates accounts) it weighs what it
 * would remove against what is active. A run is held, with nothing archived or deactivated, when
 * - for students or staff, the removals exceed BOTH `maxPercent` of the active count and `minCount`
 *   (defaults: more than 5% and more than 10), or
 * - a stream that had active records returned none at all (a source that went empty is far more
 *   likely a sharing or export mistake than a district that closed overnight).
 * Re-keys (a person back under a new source id, see accounts/rekey.ts) deactivate no one and are
 * not removals: they are counted apart, and hold a run only when the district asks for it
 * (`safetyValve.holdRekeys`) and they alone exceed the same threshold.
 * Creations and updates of a held run still apply; `runs approve` / `runs reject` resolve it.
 */

export interface ValveInput {
  /**
   * Per kind: how many active records there are, how many the run would remove, and how many
   * accounts it would re-key (default 0).
   */
  kinds: Record<string, { active: number; removing: number; rekeying?: number }>;
  /** Kinds whose source sent nothing while records of that kind are active. */
  emptiedKinds: string[];
  maxPercent: number;
  minCount: number;
  /** Hold a run whose re-keys exceed the threshold. Default false. */
  holdRekeys?: boolean;
}

export interface ValveDecision {
  hold: boolean;
  reasons: string[];
}

/** The kinds the percentage rule watches: the ones that carry people's accounts. */
export const GUARDED_KINDS = ['students', 'staff'] as const;

export function evaluateSafetyValve(input: ValveInput): ValveDecision {
  const reasons: string[] = [];
  for (const kind of GUARDED_KINDS) {
    const k = input.kinds[kind];
    if (!k) continue;
    if (exceeds(input, k.active, k.removing)) {
      reasons.push(
        `${kind}: would deactivate ${k.removing} of ${k.active} active (${percentOf(k.active, k.removing).toFixed(1)}% > ${input.maxPercent}% and > ${input.minCount})`,
      );
    }
    const rekeying = k.rekeying ?? 0;
    if (input.holdRekeys === true && exceeds(input, k.active, rekeying)) {
      reasons.push(
        `${kind}: would re-key ${rekeying} of ${k.active} active to new source ids (${percentOf(k.active, rekeying).toFixed(1)}% > ${input.maxPercent}% and > ${input.minCount}; safetyValve.holdRekeys is on); no account is deactivated`,
      );
    }
  }
  for (const kind of input.emptiedKinds) {
    const k = input.kinds[kind];
    reasons.push(`${kind}: the source returned none while ${k?.active ?? 'some'} are active`);
  }
  return { hold: reasons.length > 0, reasons };
}

/**
 * How many active accounts of a kind the valve needs to have counted to decide on it: at that many
 * or more, neither `removing` nor (with `holdRekeys`) `rekeying` can exceed, so counting can stop
 * there; below it the count is exact. 0: nothing can exceed whatever the count. Counting every
 * account of a large district costs a scan of them all, and a normal night removes a few.
 */
export function activeCountNeeded(
  k: { removing: number; rekeying?: number },
  opts: Pick<ValveInput, 'maxPercent' | 'minCount' | 'holdRekeys'>,
): number {
  let needed = 0;
  for (const n of [k.removing, opts.holdRekeys === true ? (k.rekeying ?? 0) : 0]) {
    if (!(n > 0 && n > opts.minCount)) continue;
    // percentOf(active, n) > maxPercent exactly when active < n * 100 / maxPercent.
    needed = Math.max(needed, opts.maxPercent > 0 ? Math.floor((n * 100) / opts.maxPercent) + 1 : Infinity);
  }
  return needed;
}

function percentOf(active: number, n: number): number {
  return active === 0 ? 100 : (n / active) * 100;
}

function exceeds(input: ValveInput, active: number, n: number): boolean {
  return n > 0 && percentOf(active, n) > input.maxPercent && n > input.minCount;
}
