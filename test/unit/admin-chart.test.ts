import { describe, expect, it } from 'vitest';
import type { ChartPoint } from '../../src/jobs/admin-views/dashboard.js';
import { changesScale, runChart } from '../../src/server/admin/chart.js';

const point = (i: number, active: number, changes: number): ChartPoint => ({
  runId: `run-${i}`,
  at: `2026-12-0${i + 1}T01:30:00.000Z`,
  active,
  changes,
});

describe('the runs chart', () => {
  it('scales the bars to the nightly runs, not to the sync that provisioned the district', () => {
    const points = [point(0, 5302, 5302), point(1, 5302, 9), point(2, 5305, 12), point(3, 5301, 4)];
    expect(changesScale(points)).toBe(12);
    const svg = runChart(points, 'Harbor View', 'c1');
    // The first sync's bar is cut and names its figure; the nightly bars use the whole height.
    expect(svg.match(/class="cut"/g)).toHaveLength(1);
    expect(svg).toContain('>5,302</text>');
    expect(svg).toContain('the most account changes in one run was 5,302.');
    const heights = [...svg.matchAll(/class="bar"[^>]*height="([\d.]+)"/g)].map((m) => Number(m[1]));
    expect(heights[2]).toBe(heights[0]); // the largest nightly run reaches the top, as the cut one does
    expect(heights[1]).toBeGreaterThan(heights[3]!);
  });

  it('keeps the provisioning runs’ own scale when there is nothing else, and cuts nothing', () => {
    expect(changesScale([point(0, 100, 100)])).toBe(100);
    expect(changesScale([])).toBe(1);
    expect(runChart([point(0, 100, 100)], 't', 'c2')).not.toContain('class="cut"');
    expect(runChart([point(0, 100, 40), point(1, 90, 10)], 't', 'c3')).not.toContain('class="cut"');
  });
});
