/**
 * The safety valve: before a run archives records (and so deactivates accounts) it weighs what it
 * would remove against what is active. A run is held, with nothing archived or deactivated, when
 * - for students or staff, the removals exceed BOTH `maxPercent` of the active count and `minCount`
 *   (defaults: more than 5% and more than 10), or
 * - a stream that had active records returned none at all (a source that went empty is far more
 *   likely a sharing or export mistake than a district that closed overnight).
 * Creations and updates of a held run still apply; `runs approve` / `runs reject` resolve it.
 */

export interface ValveInput {
  /** Per kind: how many active records there are and how many the run would remove. */
  kinds: Record<string, { active: number; removing: number }>;
  /** Kinds whose source sent nothing while records of that kind are active. */
  emptiedKinds: string[];
  maxPercent: number;
  minCount: number;
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
    if (!k || k.removing === 0) continue;
    const percent = k.active === 0 ? 100 : (k.removing / k.active) * 100;
    if (percent > input.maxPercent && k.removing > input.minCount) {
      reasons.push(
        `${kind}: would deactivate ${k.removing} of ${k.active} active (${percent.toFixed(1)}% > ${input.maxPercent}% and > ${input.minCount})`,
      );
    }
  }
  for (const kind of input.emptiedKinds) {
    const k = input.kinds[kind];
    reasons.push(`${kind}: the source returned none while ${k?.active ?? 'some'} are active`);
  }
  return { hold: reasons.length > 0, reasons };
}
