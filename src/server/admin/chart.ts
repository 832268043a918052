import type { ChartPoint } from '../../jobs/admin-views/dashboard.js';
import { num, utc } from './format.js';

/** Escapes text for SVG/HTML. */
function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * A server-rendered SVG chart of one district's last runs: active accounts as a line (left axis)
 * and account changes per run as bars (right axis). It carries a title and a description, and the
 * page puts the same figures in a table beside it, so it is never the only way to read them.
 */
export function runChart(points: readonly ChartPoint[], title: string, id: string): string {
  const W = 960;
  const H = 240;
  const pad = { l: 56, r: 56, t: 16, b: 28 };
  const iw = W - pad.l - pad.r;
  const ih = H - pad.t - pad.b;
  if (points.length === 0)
    return `<p class="muted">No finished runs yet: the chart starts after the first run.</p>`;
  const maxActive = Math.max(1, ...points.map((p) => p.active));
  const mostChanges = Math.max(0, ...points.map((p) => p.changes));
  const maxChanges = changesScale(points);
  const step = iw / points.length;
  const x = (i: number) => pad.l + step * i + step / 2;
  const ya = (v: number) => pad.t + ih - (v / maxActive) * ih;
  const yc = (v: number) => pad.t + ih - (v / maxChanges) * ih;
  const bars = points
    .map((p, i) => {
      const cut = p.changes > maxChanges;
      const y = yc(Math.min(p.changes, maxChanges));
      // A bar is at most 24 units wide, so a few runs do not fill the chart with one block.
      const w = Math.min(24, Math.max(2, step * 0.6));
      const bar = `<rect class="bar" x="${(x(i) - w / 2).toFixed(1)}" y="${y.toFixed(1)}" width="${w.toFixed(1)}" height="${(pad.t + ih - y).toFixed(1)}"><title>${esc(utc(p.at))}: ${num(p.changes)} account changes</title></rect>`;
      if (!cut) return bar;
      // Over the scale: the bar is cut (a gap near its top) and says its figure.
      const gap = `<rect class="cut" x="${(x(i) - w / 2 - 1).toFixed(1)}" y="${(y + 10).toFixed(1)}" width="${(w + 2).toFixed(1)}" height="4"/>`;
      const label = `<text class="tick changes" x="${(x(i) + w / 2 + 4).toFixed(1)}" y="${(y + 14).toFixed(1)}">${num(p.changes)}</text>`;
      return bar + gap + label;
    })
    .join('');
  const line = points
    .map((p, i) => `${i === 0 ? 'M' : 'L'}${x(i).toFixed(1)},${ya(p.active).toFixed(1)}`)
    .join(' ');
  const dots = points
    .map(
      (p, i) =>
        `<circle class="dot" cx="${x(i).toFixed(1)}" cy="${ya(p.active).toFixed(1)}" r="3"><title>${esc(utc(p.at))}: ${num(p.active)} active accounts</title></circle>`,
    )
    .join('');
  const first = points[0]!;
  const last = points[points.length - 1]!;
  const desc = `${points.length} runs from ${utc(first.at)} to ${utc(last.at)}. Active accounts went from ${num(first.active)} to ${num(last.active)}; the most account changes in one run was ${num(mostChanges)}.`;
  return `<svg class="chart" viewBox="0 0 ${W} ${H}" role="img" aria-labelledby="${id}-t ${id}-d" preserveAspectRatio="xMidYMid meet">
<title id="${id}-t">${esc(title)}</title><desc id="${id}-d">${esc(desc)}</desc>
<line class="axis" x1="${pad.l}" y1="${pad.t + ih}" x2="${pad.l + iw}" y2="${pad.t + ih}"/>
<text class="tick" x="${pad.l - 6}" y="${pad.t + 4}" text-anchor="end">${num(maxActive)}</text>
<text class="tick" x="${pad.l - 6}" y="${pad.t + ih}" text-anchor="end">0</text>
<text class="tick changes" x="${pad.l + iw + 6}" y="${pad.t + 4}">${num(maxChanges)}</text>
<text class="tick" x="${pad.l}" y="${H - 8}">${esc(utc(first.at).slice(0, 10))}</text>
<text class="tick" x="${pad.l + iw}" y="${H - 8}" text-anchor="end">${esc(utc(last.at).slice(0, 10))}</text>
${bars}<path class="line" d="${line}"/>${dots}
</svg>
<p class="chart-axes" aria-hidden="true"><span>${esc(utc(first.at).slice(0, 10))} – ${esc(utc(last.at).slice(0, 10))}</span><span>active accounts 0–${num(maxActive)} (left)</span><span>changes 0–${num(maxChanges)} (right)</span></p>
<p class="legend"><span class="key key-line" aria-hidden="true"></span> Active accounts (left scale) <span class="key key-bar" aria-hidden="true"></span> Account changes per run (right scale)</p>`;
}

/**
 * The top of the changes scale. A run that changed at least as many accounts as it left active
 * provisioned the district (a first sync, or a re-provisioning): scaled with the nightly runs, it
 * would flatten every other bar to nothing, so the scale comes from the other runs and that bar is
 * drawn cut. With only such runs, the scale is theirs.
 */
export function changesScale(points: readonly ChartPoint[]): number {
  const provisioning = (p: ChartPoint) => p.changes > 0 && p.changes >= p.active;
  const nightly = points.filter((p) => !provisioning(p)).map((p) => p.changes);
  return Math.max(1, ...(nightly.length > 0 ? nightly : points.map((p) => p.changes)));
}
