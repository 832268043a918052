import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { activeCountNeeded, evaluateSafetyValve } from '../../src/sync/safety-valve.js';

/**
 * The valve decides on an active count that stops at activeCountNeeded (the fast path: a run counts
 * accounts only that far) exactly as it decides on the whole count (the reference path).
 */
describe('safety valve: a count up to activeCountNeeded decides as the whole count', () => {
  const kind = fc.record({
    active: fc.nat({ max: 5000 }),
    removing: fc.nat({ max: 600 }),
    rekeying: fc.nat({ max: 600 }),
  });
  const opts = fc.record({
    maxPercent: fc.oneof(fc.constantFrom(0, 5, 100), fc.double({ min: 0, max: 100, noNaN: true })),
    minCount: fc.nat({ max: 50 }),
    holdRekeys: fc.boolean(),
  });

  it('holds exactly when the whole count holds', () => {
    fc.assert(
      fc.property(kind, kind, opts, fc.boolean(), (students, staff, o, emptied) => {
        const bounded = (k: typeof students) => ({
          ...k,
          active: Math.min(k.active, activeCountNeeded(k, o)),
        });
        const emptiedKinds = emptied ? ['students'] : [];
        const whole = evaluateSafetyValve({ kinds: { students, staff }, emptiedKinds, ...o });
        const fast = evaluateSafetyValve({
          kinds: { students: bounded(students), staff: bounded(staff) },
          emptiedKinds,
          ...o,
        });
        expect(fast.hold).toBe(whole.hold);
      }),
      { numRuns: 5000 },
    );
  });

  it('needs no count when nothing removed or re-keyed passes minCount', () => {
    expect(activeCountNeeded({ removing: 10, rekeying: 500 }, { maxPercent: 5, minCount: 10 })).toBe(0);
    expect(activeCountNeeded({ removing: 0 }, { maxPercent: 5, minCount: 0 })).toBe(0);
  });

  it('counts up to the first count at which the removals stay within maxPercent', () => {
    // 50 removals are more than 5% of 999 active and not of 1000 or more.
    const needed = activeCountNeeded({ removing: 50 }, { maxPercent: 5, minCount: 10 });
    expect(needed).toBe(1001);
    const at = (active: number) =>
      evaluateSafetyValve({
        kinds: { students: { active, removing: 50 } },
        emptiedKinds: [],
        maxPercent: 5,
        minCount: 10,
      }).hold;
    expect(at(999)).toBe(true);
    expect(at(1000)).toBe(false);
  });
});
