/**
 * Formatting helpers the admin templates call (`it.f.…`): numbers with separators, times as
 * relative text with the absolute time in UTC, durations. Presentation only.
 */

const NUMBER = new Intl.NumberFormat('en-US');

export function num(n: number | null | undefined): string {
  return n === null || n === undefined ? '—' : NUMBER.format(n);
}

export function utc(iso: string | null | undefined): string {
  if (!iso) return '—';
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
}

/** "3 h ago", "in 5 min", relative to `now`. */
export function relative(iso: string | null | undefined, now: Date = new Date()): string {
  if (!iso) return '—';
  const ms = Date.parse(iso) - now.getTime();
  const abs = Math.abs(ms);
  const [n, unit] =
    abs < 60_000
      ? [Math.round(abs / 1000), 's']
      : abs < 3600_000
        ? [Math.round(abs / 60_000), 'min']
        : abs < 2 * 86400_000
          ? [Math.round(abs / 3600_000), 'h']
          : [Math.round(abs / 86400_000), 'days'];
  if (abs < 5_000) return 'just now';
  return ms < 0 ? `${n} ${unit} ago` : `in ${n} ${unit}`;
}

export function duration(from: string | null | undefined, to: string | null | undefined): string {
  if (!from || !to) return '—';
  const s = Math.max(0, Math.round((Date.parse(to) - Date.parse(from)) / 1000));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

export function percent(part: number, whole: number): string {
  if (whole <= 0) return '—';
  return `${((100 * part) / whole).toFixed(part * 1000 < whole ? 2 : 1)} %`;
}

/** Status words (never colour alone) and the class that colours them. */
export const RUN_STATUS: Record<string, { label: string; tone: string }> = {
  running: { label: 'Running', tone: 'info' },
  succeeded: { label: 'Succeeded', tone: 'ok' },
  failed: { label: 'Failed', tone: 'bad' },
  held: { label: 'Held – needs review', tone: 'warn' },
  rejected: { label: 'Rejected', tone: 'muted' },
};

export function runStatus(status: string): { label: string; tone: string } {
  return RUN_STATUS[status] ?? { label: status, tone: 'muted' };
}

export const DISTRICT_TONE: Record<string, string> = {
  held: 'warn',
  failed: 'bad',
  attention: 'bad',
  late: 'warn',
  running: 'info',
  problems: 'warn',
  succeeded: 'ok',
  never: 'muted',
};
